// Customer list: keep ticked rows across pages without a reload (the page
// works without this script: "Keep ticked rows" submits the same form).
(function () {
  "use strict";
  var form = document.getElementById("select-form");
  if (!form || !window.fetch) { return; }
  var count = document.getElementById("selected-count");
  var exportIds = document.getElementById("export-ids");
  var saveButton = document.getElementById("save-selection");
  var all = document.getElementById("pick-all");
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="pick"]'));
  if (saveButton) { saveButton.hidden = true; }
  function save() {
    var data = new FormData(form);
    boxes.forEach(function (b) { if (b.checked) { data.append("pick", b.value); } });
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                         headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (d) { count.textContent = d.count_text; exportIds.value = d.ids; })
      .catch(function () { if (saveButton) { saveButton.hidden = false; } });
  }
  if (all && boxes.length) {
    all.hidden = false;
    all.checked = boxes.every(function (b) { return b.checked; });
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      save();
    });
  }
  boxes.forEach(function (b) { b.addEventListener("change", save); });
})();

// Totals come from /customers/count after the page (a count can take longer
// than the page itself at a million customers).
(function () {
  "use strict";
  var box = document.getElementById("counts");
  if (!box || !window.fetch) { return; }
  fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(function (d) {
      document.getElementById("count-total").textContent = d.total_text;
      document.getElementById("count-match").textContent = d.match_text ? "· " + d.match_text : "";
    })
    .catch(function () { document.getElementById("count-total").textContent = ""; });
})();
