// Progressive enhancement only: every flow works without this file.
(function () {
  "use strict";

  // Controls that need this script (Copy buttons) are shown only once it runs.
  document.documentElement.classList.add("js");

  function announce(message) {
    var status = document.querySelector("[data-copy-status]");
    if (status) { status.textContent = message; }
  }

  function fallbackCopy(input) {
    input.focus({ preventScroll: true });
    input.select();
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  // Selects the value as the page shows it beside its button (a <code>), so
  // that Ctrl+C copies it; false when it is not there.
  function selectShown(button, text) {
    var shown = button.parentNode.querySelector("code");
    if (!shown || shown.textContent !== text) { return false; }
    var range = document.createRange();
    range.selectNodeContents(shown);
    window.getSelection().removeAllRanges();
    window.getSelection().addRange(range);
    return true;
  }

  // A value shown on the page (a Key ID): copied through a hidden field when
  // the clipboard API is not available, else selected for Ctrl+C.
  function copyText(button, text) {
    var done = function () {
      button.firstChild.textContent = "Copied";
      announce("Key ID " + text + " copied to the clipboard.");
      window.setTimeout(function () { button.firstChild.textContent = "Copy"; }, 2500);
    };
    var fallback = function () {
      var field = document.createElement("textarea");
      field.value = text;
      field.setAttribute("readonly", "");
      field.className = "visually-hidden";
      document.body.appendChild(field);
      var copied = fallbackCopy(field);
      document.body.removeChild(field);
      button.focus();
      if (copied) {
        done();
      } else if (selectShown(button, text)) {
        announce("The Key ID is selected: press Ctrl+C (or ⌘C) to copy it.");
      } else {
        announce("Select the Key ID and press Ctrl+C (or ⌘C) to copy it.");
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var literal = button.getAttribute("data-copy-text");
    if (literal !== null) { copyText(button, literal); return; }
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) { return; }
    var label = input.labels && input.labels[0] ? input.labels[0].textContent : "Value";
    var done = function () {
      button.textContent = "Copied";
      announce(label + " copied to the clipboard.");
      window.setTimeout(function () { button.textContent = "Copy"; }, 2500);
    };
    var failed = function () {
      input.focus();
      input.select();
      announce("Press Ctrl+C (or ⌘C) to copy the selected " + label.toLowerCase() + ".");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        if (fallbackCopy(input)) { done(); } else { failed(); }
      });
    } else if (fallbackCopy(input)) {
      done();
    } else {
      failed();
    }
  });

  // A form that may hold a pasted whole key is put back as the server wrote it
  // when the page is left, so Back never shows that key in it again.
  window.addEventListener("pagehide", function () {
    document.querySelectorAll("form[data-reset-on-leave]").forEach(function (form) { form.reset(); });
  });

  // Times: the server writes UTC; show them in the reader's time zone, keep the
  // UTC value on hover, and say "3 days ago" where a column is for scanning.
  var localFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  var relativeFormat = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  function relative(date) {
    var seconds = (date.getTime() - Date.now()) / 1000;
    var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1]) {
        return relativeFormat.format(Math.round(seconds / units[i][1]), units[i][0]);
      }
    }
    return relativeFormat.format(0, "minute");
  }
  document.querySelectorAll("time[datetime][data-local]").forEach(function (el) {
    var date = new Date(el.getAttribute("datetime"));
    if (isNaN(date.getTime())) { return; }
    var local = localFormat.format(date);
    el.setAttribute("title", el.getAttribute("title") ? local + " · " + el.getAttribute("title") : local);
    el.textContent = el.hasAttribute("data-relative") && relativeFormat ? relative(date) : local;
  });

  // The key modal: focus stays inside it, Escape closes it.
  var modal = document.querySelector("[data-modal]");
  if (modal) {
    var focusable = modal.querySelectorAll("a[href], button, input, select, textarea");
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    var close = modal.querySelector("[data-modal-close]");
    var firstCopy = modal.querySelector("[data-copy]");
    (firstCopy || first).focus();
    modal.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && close) {
        event.preventDefault();
        close.click();
      } else if (event.key === "Tab") {
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }
    });
    modal.querySelectorAll(".secret-value").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }
})();
