// Guest-page settings: live preview (debounced), color pickers, logo size check.
(function () {
  var form = document.getElementById("settings-form");
  if (!form) { return; }
  var buttons = Array.prototype.slice.call(form.querySelectorAll(".lang-btn"));
  var current = form.querySelector(".lang-btn.current") || buttons[0];
  var timer = null;

  function refresh() {
    if (current && form.requestSubmit) { form.requestSubmit(current); }
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 350);
  }
  buttons.forEach(function (button) {
    button.addEventListener("click", function () {
      buttons.forEach(function (b) { b.classList.toggle("current", b === button); });
      current = button;
    });
  });
  form.querySelectorAll("input[type=color][data-mirror]").forEach(function (picker) {
    var text = form.elements[picker.dataset.mirror];
    picker.removeAttribute("aria-hidden");
    picker.addEventListener("input", function () { text.value = picker.value; later(); });
    text.addEventListener("input", function () {
      if (/^#[0-9a-fA-F]{6}$/.test(text.value)) { picker.value = text.value; }
    });
  });
  var logo = form.elements.logo;
  if (logo) {
    logo.addEventListener("change", function () {
      var file = logo.files && logo.files[0];
      var max = parseInt(form.dataset.maxLogo, 10);
      logo.setCustomValidity(file && file.size > max ? form.dataset.tooBig : "");
      if (file && file.size > max) { logo.reportValidity(); }
    });
  }
  form.addEventListener("input", function (event) {
    if (event.target.type !== "file") { later(); }
  });
  form.addEventListener("change", function (event) {
    if (event.target.type === "checkbox" || event.target.tagName === "SELECT") { later(); }
    if (event.target.type === "file" && event.target.validity.valid) { later(); }
  });
  form.addEventListener("submit", function (event) {
    if (logo && !logo.validity.valid) {
      event.preventDefault();
      if (!(event.submitter && event.submitter.classList.contains("lang-btn"))) { logo.reportValidity(); }
    }
  });
})();
