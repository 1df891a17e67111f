// The export page follows its job until the file is ready (or failed), then offers the download.
(function () {
  var box = document.getElementById("export-status");
  if (!box || box.dataset.done === "1") { return; }
  function poll() {
    fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        document.getElementById("export-progress").value = job.progress;
        document.getElementById("export-percent").textContent = job.progress;
        document.getElementById("export-state").textContent = job.status;
        if (job.status === "complete") {
          document.getElementById("export-download").hidden = false;
          document.getElementById("export-refresh").hidden = true;
        } else if (job.status === "error") {
          var error = document.getElementById("export-error");
          error.textContent = job.error; error.hidden = false;
          document.getElementById("export-refresh").hidden = true;
        } else { setTimeout(poll, 1500); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 500);
})();
