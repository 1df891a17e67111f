/* Long lists (countries, skills, languages, fields): a box above the list narrows it as one types.

   Mark a <select> or a container of option labels with data-searchable="<the box's label>".
   Without this script the list is the same, complete list; the box is only a shortcut.
   Matching ignores case and accents, and takes Kazakh letters typed on a Russian keyboard
   (к for қ, о for ө, у for ұ/ү, ...), so "казак" finds «Қазақстан». The option already
   chosen always stays in the list, so narrowing never changes what the form sends. */
(function () {
  "use strict";

  var FOLD = { "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е", "й": "и" };
  var counter = 0;

  function fold(text) {
    var s = String(text || "").toLocaleLowerCase();
    if (s.normalize) { s = s.normalize("NFD").replace(/[\u0300-\u036f]/g, ""); }
    return s.replace(/[әғқңөұүһіёй]/g, function (c) { return FOLD[c]; }).replace(/\s+/g, " ");
  }

  function makeBox(list) {
    counter += 1;
    if (!list.id) { list.id = "searchable-" + counter; }
    var box = document.createElement("input");
    box.type = "search";
    box.id = list.id + "-search";
    box.className = "list-search";
    box.autocomplete = "off";
    box.spellcheck = false;
    box.setAttribute("aria-label", list.getAttribute("data-searchable") || "");
    box.setAttribute("placeholder", list.getAttribute("data-searchable") || "");
    box.setAttribute("aria-controls", list.id);
    box.style.marginBottom = ".35rem";
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.id = list.id + "-search-status";
    status.setAttribute("aria-live", "polite");
    box.setAttribute("aria-describedby", status.id);
    list.parentNode.insertBefore(box, list);
    list.parentNode.insertBefore(status, list);
    return { box: box, status: status };
  }

  function announce(status, wanted, shown, total) {
    status.textContent = wanted ? shown + " / " + total : "";
  }

  // A <select>: options that do not match are taken out of it (hidden options still show on
  // some phones) and put back, in their original order, when the text changes.
  function enhanceSelect(select) {
    var parts = makeBox(select);
    var nodes = Array.prototype.slice.call(select.children);
    var groups = nodes.map(function (node) {
      return node.tagName === "OPTGROUP" ? Array.prototype.slice.call(node.children) : null;
    });

    // The chosen value is read before any option moves: taking the selected option out of a
    // <select> makes the browser select the next one.
    function keep(option, wanted, groupMatches, chosen) {
      return option.value === "" || option.value === chosen || groupMatches ||
        fold(option.textContent).indexOf(wanted) !== -1;
    }

    function filter() {
      var wanted = fold(parts.box.value.trim());
      var value = select.value;
      var shown = 0;
      var total = 0;
      var fragment = document.createDocumentFragment();
      nodes.forEach(function (node, i) {
        if (groups[i]) {
          var groupMatches = !wanted || fold(node.label).indexOf(wanted) !== -1;
          var kept = groups[i].filter(function (option) {
            total += 1;
            var ok = !wanted || keep(option, wanted, groupMatches, value);
            if (ok) { shown += 1; }
            return ok;
          });
          node.textContent = "";
          kept.forEach(function (option) { node.appendChild(option); });
          if (kept.length) { fragment.appendChild(node); }
        } else {
          if (node.value !== "") { total += 1; }
          if (!wanted || keep(node, wanted, false, value)) {
            if (node.value !== "") { shown += 1; }
            fragment.appendChild(node);
          }
        }
      });
      select.textContent = "";
      select.appendChild(fragment);
      select.value = value;
      announce(parts.status, wanted, shown, total);
      return shown;
    }

    parts.box.addEventListener("input", filter);
    parts.box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        // Enter picks the only match instead of sending the form.
        event.preventDefault();
        var matches = Array.prototype.filter.call(select.options, function (o) { return o.value !== "" && !o.disabled; });
        if (matches.length === 1 && select.value !== matches[0].value) {
          select.value = matches[0].value;
          select.dispatchEvent(new Event("change", { bubbles: true }));
        }
        select.focus();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        select.focus();
      }
    });
  }

  // A container of labelled checkboxes or radio buttons: labels that do not match are hidden,
  // and so is a group (role="group", or a fieldset) left with none.
  function enhanceOptions(container) {
    var parts = makeBox(container);
    var labels = Array.prototype.slice.call(container.querySelectorAll("label"));
    var groups = Array.prototype.slice.call(container.querySelectorAll("[role=group], fieldset"));

    parts.box.addEventListener("input", function () {
      var wanted = fold(parts.box.value.trim());
      var shown = 0;
      labels.forEach(function (label) {
        var input = label.querySelector("input") || document.getElementById(label.htmlFor);
        var ok = !wanted || (input && input.checked) || fold(label.textContent).indexOf(wanted) !== -1;
        // The style, not the hidden attribute: option labels are styled display: flex.
        label.style.display = ok ? "" : "none";
        if (ok) { shown += 1; }
      });
      groups.forEach(function (group) {
        var any = labels.some(function (label) { return group.contains(label) && label.style.display !== "none"; });
        group.style.display = any ? "" : "none";
      });
      announce(parts.status, wanted, shown, labels.length);
    });
    parts.box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
  }

  function enhance(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("[data-searchable]"), function (list) {
      if (list.getAttribute("data-searchable-ready")) { return; }
      list.setAttribute("data-searchable-ready", "1");
      if (list.tagName === "SELECT") {
        if (!list.multiple) { enhanceSelect(list); }
      } else {
        enhanceOptions(list);
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { enhance(); });
  } else {
    enhance();
  }
  window.keluSearchableLists = enhance;
})();
