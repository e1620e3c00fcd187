// The roster import's progress bar: polls the progress endpoint, reloads when done.
(function () {
  "use strict";
  var box = document.getElementById("roster-progress");
  if (!box) return;
  var bar = document.getElementById("roster-bar");
  var count = document.getElementById("roster-count");
  var status = document.getElementById("roster-status");
  function poll() {
    fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (p) {
        if (p.finished) { window.location.reload(); return; }
        if (p.total_rows) { bar.value = p.percent; bar.textContent = p.percent + " %"; }
        count.textContent = p.processed_rows + " / " + p.total_rows;
        status.textContent = p.status_label;
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
