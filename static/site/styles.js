// Formatting that survey authors give labels (<span style="color: ...">, as ODK renders it)
// arrives as data-style, already sanitised to a few properties on the server
// (surveys/labels.py): applied here through the CSS object model, which the page's
// Content-Security-Policy allows, where a style attribute in the markup would be refused.
(function () {
  function apply(root) {
    if (root.hasAttribute && root.hasAttribute("data-style")) {
      root.style.cssText = root.getAttribute("data-style");
    }
    var spans = root.querySelectorAll("[data-style]");
    for (var i = 0; i < spans.length; i++) {
      spans[i].style.cssText = spans[i].getAttribute("data-style");
    }
  }
  function start() {
    apply(document);
    // parts added later (a new repeat of a group) are styled as they arrive
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        change.addedNodes.forEach(function (node) { if (node.querySelectorAll) { apply(node); } });
      });
    }).observe(document.body, {childList: true, subtree: true});
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
