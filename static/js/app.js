// Small progressive enhancements; every page works without them.
// Delegated listeners, so that content swapped in by htmx behaves the same.
(function () {
  "use strict";

  function updateCounter(field) {
    var counter = document.querySelector('[data-counter-for="' + field.id + '"]');
    if (!counter) return;
    var limit = parseInt(field.dataset.limit, 10);
    // Characters as the server counts them (code points: an emoji is one, not two UTF-16
    // units); the value's line breaks are single LFs, as the server normalises them.
    var used = Array.from(field.value).length;
    counter.querySelector(".used").textContent = used;
    counter.classList.toggle("over", used > limit);
    counter.classList.toggle("near", used <= limit && used > limit * 0.9);
  }

  function updateWeight(slider) {
    var output = document.querySelector('output[for="' + slider.id + '"]');
    if (output) output.textContent = Number(slider.value).toFixed(2);
    var use = document.querySelector('.js-weight-use[data-weight="' + slider.id + '"]');
    if (use && !use.checked) use.checked = true; // moving a slider means "use this value"
  }

  function refresh(root) {
    root.querySelectorAll("[data-limit]").forEach(updateCounter);
  }

  // A field the person has changed since the server judged it: its old error no longer
  // applies (for a song, a file or a link answers either message). The server judges again.
  function clearErrors(target) {
    var scope = target.closest(".source") || target.closest(".field");
    if (!scope) return;
    scope.querySelectorAll(".errors").forEach(function (list) { list.remove(); });
    scope.querySelectorAll(".field-invalid").forEach(function (field) {
      field.classList.remove("field-invalid");
    });
    scope.classList.remove("field-invalid");
  }

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target.matches("[data-limit]")) updateCounter(target);
    if (target.matches('input[type="range"]')) updateWeight(target);
    clearErrors(target);
  });
  // A file over the upload limit is refused at once, before minutes of uploading; the
  // server refuses it too (by its size) when JavaScript is off.
  function checkSize(input) {
    var file = input.files && input.files[0];
    var limit = parseInt(input.dataset.maxMb, 10);
    if (!file || file.size <= limit * 1048576) return;
    var errors = document.createElement("ul");
    errors.className = "errors";
    errors.setAttribute("role", "alert");
    var item = document.createElement("li");
    item.textContent = "This file is " + Math.round(file.size / 1048576) + " MB; the limit is " +
      limit + " MB.";
    errors.appendChild(item);
    input.value = "";
    input.after(errors);
    input.closest(".field").classList.add("field-invalid");
  }

  document.addEventListener("change", function (event) {
    clearErrors(event.target);
    if (event.target.matches("input[type=file][data-max-mb]")) checkSize(event.target);
  });
  // A field switch (mode, instrumental, model) re-renders the fields with the values the
  // server was sent. Whatever the person typed while that request was on its way would be
  // lost in the swap, so the values in the page at swap time are put back.
  var TYPED = "textarea, input[type=text], input[type=range]";
  var typed = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target.id !== "mashup-fields") return;
    typed = {};
    event.detail.target.querySelectorAll(TYPED).forEach(function (field) {
      typed[field.name] = field.value;
    });
  });
  function restoreTyped(root) {
    root.querySelectorAll(TYPED).forEach(function (field) {
      if (typed.hasOwnProperty(field.name) && field.value !== typed[field.name]) {
        field.value = typed[field.name];
        if (field.matches("[data-limit]")) updateCounter(field);
        if (field.matches('input[type="range"]')) updateWeight(field);
      }
    });
    typed = null;
  }

  document.addEventListener("DOMContentLoaded", function () { refresh(document); });
  document.addEventListener("htmx:afterSwap", function (event) { refresh(event.detail.elt || document); });
  // After settling: htmx puts the new fields' attributes (value among them) back only then.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (typed && event.detail.elt.id === "mashup-fields") restoreTyped(event.detail.elt);
  });
})();
