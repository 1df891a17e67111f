/* Staff pages: copy a link, follow a "send invitations" run. Small and dependency-free; every
   page works without it (the link can be selected by hand, the page refreshed). */
(function () {
  "use strict";

  function selectText(input) {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
  }

  function copyWithSelection(input) {
    selectText(input);
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { selectText(input); });
    input.addEventListener("click", function () { selectText(input); });
  });

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var input = document.querySelector(button.dataset.copy);
    var status = button.parentNode.querySelector(".copy-status");
    if (!input) { return; }
    function say(text) { if (status) { status.textContent = text; } }
    button.addEventListener("click", function () {
      var done = function () { say(button.dataset.copied); };
      var fallback = function () {
        if (copyWithSelection(input)) { done(); } else { selectText(input); say(button.dataset.failed); }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  });

  var job = document.getElementById("send-job");
  if (job && job.dataset.running === "1" && window.fetch) {
    var progress = document.getElementById("send-progress");
    var poll = function () {
      fetch(job.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) {
          if (progress) { progress.value = data.progress; progress.textContent = data.progress + "%"; }
          if (data.status === "complete" || data.status === "error") {
            window.location.reload();  // the counts, the letters and the table all moved
          } else {
            window.setTimeout(poll, 2000);
          }
        })
        .catch(function () { window.setTimeout(poll, 6000); });
    };
    window.setTimeout(poll, 1000);
  }
})();
