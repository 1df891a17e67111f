/* Respondent pages: live relevance and autosave through the server's own rules.
   Without this script the pages still work through plain form posts. */
(function () {
  "use strict";
  var form = document.getElementById("page-form");
  if (!form) return;
  var banner = document.getElementById("connection");
  var summary = document.getElementById("error-summary");
  var timer = null;
  var submitting = false;

  // Focus moves to the list of problems after a refused submit.
  if (summary) summary.focus();

  function data() {
    var fd = new FormData(form);
    fd.delete("action");
    fd.delete("lang");
    return fd;
  }

  function save() {
    return fetch(form.dataset.saveUrl, {
      method: "POST", body: data(), credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  function showBanner() {
    banner.textContent = form.dataset.offlineMessage;
    banner.hidden = false;
  }

  function apply(result) {
    banner.hidden = true;
    if (!result || !result.visible) return;
    var visible = {};
    result.visible.forEach(function (name) { visible[name] = true; });
    form.querySelectorAll("[data-field]").forEach(function (el) {
      el.hidden = !visible[el.dataset.field];
      var box = el.querySelector(".field-error");
      var message = (result.errors || {})[el.dataset.field];
      if (box && el.dataset.touched) {
        box.textContent = message || "";
        el.classList.toggle("has-error", !!message);
      }
    });
    form.querySelectorAll("[data-section]").forEach(function (section) {
      section.hidden = !section.querySelector("[data-field]:not([hidden])");
    });
  }

  form.addEventListener("change", function (event) {
    var question = event.target.closest("[data-field]");
    if (question) question.dataset.touched = "1";
    clearTimeout(timer);
    timer = setTimeout(function () { save().then(apply).catch(showBanner); }, 250);
  });

  // Before leaving the page, make sure the server has the answers; if the
  // connection is gone, stay here and say so instead of losing them.
  form.addEventListener("submit", function (event) {
    if (submitting) return;
    event.preventDefault();
    var submitter = event.submitter;
    save().then(function () {
      submitting = true;
      banner.hidden = true;
      if (form.requestSubmit && submitter) form.requestSubmit(submitter);
      else form.submit();
    }).catch(showBanner);
  });
})();
