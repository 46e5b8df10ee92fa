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

  // The key modal: focus stays inside it; Escape or Close leaves it, but
  // asks first if the key was never copied. Its address becomes the list's
  // as soon as it is shown, so Back and Reload never post the form again
  // (no "Confirm Form Resubmission"), and leaving replaces it in the history.
  var modal = document.querySelector("[data-modal]");
  if (modal) {
    var close = modal.querySelector("[data-modal-close]");
    var actions = modal.querySelector("[data-modal-actions]");
    var confirmBox = modal.querySelector("[data-close-confirm]");
    var copied = false;
    var visible = function () {
      return Array.prototype.filter.call(
        modal.querySelectorAll("a[href], button, input, select, textarea"),
        function (el) { return !el.closest("[hidden]") && el.getClientRects().length > 0; }
      );
    };
    var leave = function () {
      var backdrop = modal.closest("[data-modal-backdrop]");
      var to = close.getAttribute("href");
      if (backdrop) { backdrop.remove(); }
      window.location.replace(to);
    };
    var asking = function () { return !confirmBox.hidden; };
    var ask = function () {
      actions.hidden = true;
      confirmBox.hidden = false;
      confirmBox.querySelector("[data-close-cancel]").focus();
    };
    var stopAsking = function () {
      confirmBox.hidden = true;
      actions.hidden = false;
      close.focus();
    };
    var tryToLeave = function () {
      if (copied) { leave(); } else { ask(); }
    };
    window.history.replaceState(null, "", close.getAttribute("href"));
    (modal.querySelector("[data-copy]") || close).focus();
    modal.addEventListener("click", function (event) {
      if (event.target.closest("[data-copy-secret]")) {
        copied = true;
      } else if (event.target.closest("[data-modal-close]")) {
        event.preventDefault();
        tryToLeave();
      } else if (event.target.closest("[data-close-anyway]")) {
        event.preventDefault();
        leave();
      } else if (event.target.closest("[data-close-cancel]")) {
        stopAsking();
      }
    });
    // Ctrl+C in a field that holds the secret counts as copying it.
    modal.addEventListener("copy", function () {
      if (document.activeElement && document.activeElement.hasAttribute("data-secret")) { copied = true; }
    });
    modal.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        if (asking()) { stopAsking(); } else { tryToLeave(); }
      } else if (event.key === "Tab") {
        var stops = visible();
        var first = stops[0];
        var last = stops[stops.length - 1];
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
    // A page kept for Back and Forward keeps no key.
    window.addEventListener("pagehide", function () {
      var backdrop = modal.closest("[data-modal-backdrop]");
      if (backdrop) { backdrop.remove(); }
    });
  }

  // Step one of Generate API Key: each type offers only the expiry choices
  // its policy allows and starts at its default; a date picked or typed
  // selects "On a date". (Without this script every choice is shown and the
  // server refuses one the type does not allow, or a date typed beside
  // another choice.)
  var generate = document.querySelector("[data-generate-form]");
  if (generate) {
    var dateField = generate.querySelector("#expires_on");
    var onDate = generate.querySelector("#expires-on");
    var policy = generate.querySelector("[data-expiry-policy]");
    var tenYears = dateField.getAttribute("max");
    var chosenByHand = generate.querySelector("[data-expiry] [aria-invalid]") !== null ||
      generate.querySelector(".field-error") !== null;
    var chosenType = function () { return generate.querySelector("input[name=type_code]:checked"); };
    var applyType = function (preselect) {
      var type = chosenType();
      if (!type) { return; }
      var max = type.getAttribute("data-max-days");
      var days = max === "" ? null : parseInt(max, 10);
      generate.querySelectorAll("[data-expiry-days]").forEach(function (choice) {
        var allowed = days === null || parseInt(choice.getAttribute("data-expiry-days"), 10) <= days;
        choice.hidden = !allowed;
        choice.querySelector("input").disabled = !allowed;
      });
      var never = generate.querySelector("[data-expiry-never]");
      never.hidden = days !== null;
      never.querySelector("input").disabled = days !== null;
      dateField.setAttribute("max", type.getAttribute("data-last-day") || tenYears);
      policy.textContent = days === null ? "" :
        type.getAttribute("data-type-name") + " keys last at most " + days +
        " days: through " + type.getAttribute("data-last-day") + " at the latest.";
      var current = generate.querySelector("input[name=expires]:checked");
      if (preselect || !current || current.disabled) {
        var wanted = generate.querySelector("#expires-" + type.getAttribute("data-default-expiry"));
        if (wanted) { wanted.checked = true; }
        if (wanted === onDate) { dateField.value = type.getAttribute("data-default-date"); }
        else { dateField.value = ""; }
      }
    };
    generate.addEventListener("change", function (event) {
      if (event.target.name === "type_code") {
        applyType(!chosenByHand);
      } else if (event.target.name === "expires") {
        chosenByHand = true;
        if (event.target !== onDate) { dateField.value = ""; }
      }
    });
    ["input", "change", "click"].forEach(function (name) {
      dateField.addEventListener(name, function () {
        if (name === "click" || dateField.value !== "") {
          onDate.checked = true;
          chosenByHand = true;
        }
      });
    });
    applyType(false);
  }

  // Edit and Roll: a date typed or picked beside a choice selects that
  // choice, and choosing another clears the date (without this script the
  // server refuses a date typed beside another choice).
  document.querySelectorAll("[data-picks]").forEach(function (field) {
    var choice = document.getElementById(field.getAttribute("data-picks"));
    if (!choice || !choice.form) { return; }
    ["input", "change", "click"].forEach(function (name) {
      field.addEventListener(name, function () {
        if (name === "click" || field.value !== "") { choice.checked = true; }
      });
    });
    choice.form.addEventListener("change", function (event) {
      if (event.target.name === choice.name && event.target !== choice) { field.value = ""; }
    });
  });
})();
