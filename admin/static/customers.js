// Customer list: ticked rows are saved as they are ticked, one change at a
// time in order (each request adds or removes ids, so two quick ticks both
// land), and the export's scope always names what the file will hold with
// its count. The page works without this script: "Keep ticked rows" submits
// the page's boxes.
(function () {
  "use strict";
  var form = document.getElementById("select-form");
  var scope = document.getElementById("export-scope");
  if (!form || !window.fetch) { return; }
  var count = document.getElementById("selected-count");
  var saveButton = document.getElementById("save-selection");
  var all = document.getElementById("pick-all");
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="pick"]'));
  var queue = Promise.resolve();
  var pending = 0;
  var number = new Intl.NumberFormat(document.documentElement.lang || undefined);
  if (saveButton) { saveButton.hidden = true; }

  function option(value) {
    return scope ? scope.querySelector('option[value="' + value + '"]') : null;
  }
  function label(value, key, n) {
    var opt = option(value);
    if (opt && n !== null && n !== undefined) {
      opt.textContent = scope.getAttribute(key).replace("{n}", number.format(n));
    }
  }
  function selectedChanged(n) {
    if (!scope) { return; }
    var picked = option("selected");
    label("selected", "data-selected-text", n);
    picked.disabled = n === 0;
    if (n > 0) {
      scope.value = "selected";
    } else if (scope.value === "selected") {
      scope.value = option("filtered") ? "filtered" : "all";
    }
  }
  function send(add, remove) {
    var data = new FormData();
    ["csrf_token", "list"].forEach(function (name) {
      data.append(name, form.querySelector('input[name="' + name + '"]').value);
    });
    add.forEach(function (id) { data.append("add", id); });
    remove.forEach(function (id) { data.append("remove", id); });
    pending += 1;
    form.setAttribute("data-pending", pending);
    queue = queue.then(function () {
      return fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                                  headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (d) { count.textContent = d.count_text; selectedChanged(d.count); })
        .catch(function () { if (saveButton) { saveButton.hidden = false; } })
        .then(function () { pending -= 1; form.setAttribute("data-pending", pending); });
    });
  }
  if (all && boxes.length) {
    all.hidden = false;
    all.checked = boxes.every(function (b) { return b.checked; });
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
      var ids = boxes.map(function (b) { return b.value; });
      send(all.checked ? ids : [], all.checked ? [] : ids);
    });
  }
  boxes.forEach(function (b) {
    b.addEventListener("change", function () {
      send(b.checked ? [b.value] : [], b.checked ? [] : [b.value]);
    });
  });

  // An export of the ticked rows clears them (the server did); a small export
  // downloads without leaving the page, so the page says so too. After the
  // submit event: the form's values are taken before this runs.
  var exportForm = document.getElementById("export-form");
  if (exportForm && scope) {
    exportForm.addEventListener("submit", function () {
      if (scope.value !== "selected") { return; }
      setTimeout(function () {
        boxes.forEach(function (b) { b.checked = false; });
        if (all) { all.checked = false; }
        count.textContent = scope.getAttribute("data-selected-text").replace("{n}", number.format(0));
        selectedChanged(0);
      }, 0);
    });
  }

  // Totals come from /customers/count after the page (a count can take longer
  // than the page itself at a million customers); the scope names them too.
  // A filtered list asks for its matches and for its whole list's count at once
  // (data-total-src), two requests of one count each.
  var box = document.getElementById("counts");
  if (!box) { return; }
  function counted(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }
  var totalSrc = box.getAttribute("data-total-src");
  var allSrc = box.getAttribute("data-all-src");
  var matched = counted(box.getAttribute("data-src") + (totalSrc ? "&part=matching" : ""));
  var totals = totalSrc ? counted(totalSrc) : matched;
  matched.then(function (d) {
    document.getElementById("count-match").textContent = d.match_text ? "· " + d.match_text : "";
    label("filtered", "data-filtered-text", d.matching);
  }).catch(function () { document.getElementById("count-match").textContent = ""; });
  totals.then(function (t) {
    document.getElementById("count-total").textContent = t.total_text;
    if (!scope || scope.getAttribute("data-filtered") !== "1") {
      label("all", "data-all-text", t.everyone);
      return null;
    }
    return (allSrc === totalSrc ? totals : counted(allSrc))
      .then(function (whole) { label("all", "data-all-text", whole.everyone); });
  }).catch(function () { document.getElementById("count-total").textContent = ""; });
})();

(function () {
  // A phone: the list's filters fold behind their button unless one is on.
  var fold = document.getElementById("filters-fold");
  if (fold && fold.getAttribute("data-active") === "0" && window.matchMedia("(max-width: 760px)").matches) {
    fold.open = false;
  }
})();
