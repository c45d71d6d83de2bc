// unsnag dashboard: small enhancements only; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box && box.id === "select-all") {
      document.querySelectorAll('#queue input[name="case_ids"]').forEach(function (item) {
        item.checked = box.checked;
      });
    }
  });
  // Do not replace the queue's rows under a person who is ticking or tabbing through them.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || elt.id !== "queue-rows") { return; }
    if (elt.querySelector("input:checked") || elt.contains(document.activeElement)) {
      event.preventDefault();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var status = document.getElementById("live-status");
    if (status && !window.htmx && !status.classList.contains("warn")) {
      status.textContent = "live refresh off: htmx did not load; reload to update";
      status.classList.add("warn");
    }
  });
})();
