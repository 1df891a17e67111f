/* Respondent pages: live relevance and autosave through the server's own rules.
   Without this script the pages still work through plain form posts.

   What goes wrong is said where the respondent is looking: a failed Back/Next/Submit next to
   those buttons, a failed language switch next to the language buttons, a failed autosave next
   to the question just answered. A refusal by the server (answers already submitted, survey
   closed) is told apart from a lost connection: only a fetch that never got an answer is one. */
(function () {
  "use strict";
  var form = document.getElementById("page-form");
  if (!form) return;
  var banner = document.getElementById("connection");
  var summary = document.getElementById("error-summary");
  var timer = null;
  var submitting = false;
  var submitted = false;

  // Focus moves to the list of problems after a refused submit.
  if (summary) summary.focus();

  function data() {
    var fd = new FormData(form);
    fd.delete("action");
    fd.delete("lang");
    return fd;
  }

  function Refusal(body) { this.body = body || {}; }

  function answer(r) {
    if (r.status === 409) return r.json().then(function (body) { throw new Refusal(body); });
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }

  function save() {
    return fetch(form.dataset.saveUrl, {
      method: "POST", body: data(), credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
    }).then(answer);
  }

  function say(where, text, link) {
    if (!where) return;
    where.textContent = text + (link ? " " : "");
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.label;
      where.appendChild(a);
    }
    where.hidden = false;
    if (where.scrollIntoView) where.scrollIntoView({ block: "nearest" });
  }

  function clear(where) {
    if (where) where.textContent = "";
  }

  function showSubmitted(where, doneUrl) {
    submitted = true;
    say(where, form.dataset.submittedMessage, { href: doneUrl || form.dataset.doneUrl, label: form.dataset.doneLabel });
  }

  // Why a save failed, said in `where`.
  function failed(error, where) {
    if (error instanceof Refusal) {
      if (error.body.reason === "submitted") return showSubmitted(where, error.body.done_url);
      return say(where, error.body.message || form.dataset.errorMessage);
    }
    // fetch rejects with a TypeError when no answer came back at all: the connection.
    say(where, error instanceof TypeError ? form.dataset.offlineMessage : form.dataset.errorMessage);
  }

  function noteFor(question) {
    var note = question.querySelector(".save-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "save-note";
      note.setAttribute("role", "status");
      question.appendChild(note);
    }
    return note;
  }

  function apply(result) {
    if (banner) banner.hidden = true;
    form.querySelectorAll(".save-note").forEach(clear);
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
    form.querySelectorAll("[data-repeat-add]").forEach(function (row) {
      row.hidden = !visible[row.dataset.repeatAdd];  // a repeat that stops (or starts) applying
    });
  }

  form.addEventListener("change", function (event) {
    if (!event.target.name) return; // a list's search box: nothing to save
    var question = event.target.closest("[data-field]");
    if (question) question.dataset.touched = "1";
    clearTimeout(timer);
    timer = setTimeout(function () {
      save().then(apply).catch(function (error) {
        if (!question) return failed(error, document.getElementById("actions-status"));
        if (error instanceof Refusal) return failed(error, noteFor(question));
        // Nothing is lost: the answer is still on the page and is saved when the page changes.
        say(noteFor(question), form.dataset.unsavedMessage);
      });
    }, 250);
  });

  function statusFor(submitter) {
    var top = submitter && submitter.closest && submitter.closest(".languages");
    return document.getElementById(top ? "languages-status" : "actions-status");
  }

  // Before leaving the page, make sure the server has the answers; if the
  // connection is gone, stay here and say so instead of losing them.
  form.addEventListener("submit", function (event) {
    if (submitting) return;
    event.preventDefault();
    // This save carries every answer on the page: a field's own save still waiting would only
    // repeat it, and its note, arriving later, would push the message below out of sight.
    clearTimeout(timer);
    var submitter = event.submitter;
    var where = statusFor(submitter);
    if (submitted) return showSubmitted(where);
    clear(document.getElementById("languages-status"));
    clear(document.getElementById("actions-status"));
    save().then(function () {
      submitting = true;
      if (banner) banner.hidden = true;
      if (form.requestSubmit && submitter) form.requestSubmit(submitter);
      else form.submit();
    }).catch(function (error) { failed(error, where); });
  });

  // A page the browser shows again from its memory (the back button after submitting) may no
  // longer be current: ask the server, and say so at the top if the answers were submitted.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    submitting = false;
    fetch(form.dataset.saveUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(answer)
      .catch(function (error) {
        if (error instanceof Refusal && banner) failed(error, banner);
      });
  });
})();
