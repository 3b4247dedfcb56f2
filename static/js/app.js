// Progressive enhancements for the server-rendered forms. Every form works without this file:
// it only turns the pickers' text boxes into type-aheads, adds participant rows in place and
// reveals the buttons that need JavaScript.
(function () {
  "use strict";

  function revealScriptOnlyControls(root) {
    root.querySelectorAll("[data-js-only]").forEach(function (el) { el.hidden = false; });
  }

  // --- Pickers: a combobox over a listbox of suggestions fetched by htmx. ---------------------

  function pickerOf(el) { return el.closest("[data-picker]"); }
  function listboxOf(input) { return document.getElementById(input.getAttribute("aria-controls")); }
  function options(listbox) { return Array.from(listbox.querySelectorAll("[role=option][data-id]")); }

  function setOpen(input, open) {
    var listbox = listboxOf(input);
    listbox.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) input.removeAttribute("aria-activedescendant");
  }

  function activate(input, option) {
    var listbox = listboxOf(input);
    listbox.querySelectorAll("[role=option]").forEach(function (o) { o.setAttribute("aria-selected", "false"); });
    if (!option) return;
    option.setAttribute("aria-selected", "true");
    input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  function activeOption(input) {
    return listboxOf(input).querySelector("[role=option][data-id][aria-selected=true]");
  }

  function pick(input, option) {
    var picker = pickerOf(input);
    var chips = picker.querySelector(".chips");
    var name = picker.dataset.name;
    if (picker.dataset.multiple !== "true") chips.innerHTML = "";
    var existing = chips.querySelector('input[value="' + option.dataset.id + '"]');
    if (existing) {
      existing.checked = true;
    } else {
      var item = document.createElement("li");
      var label = document.createElement("label");
      var box = document.createElement("input");
      label.className = "chip";
      box.type = "checkbox";
      box.name = name;
      box.value = option.dataset.id;
      box.checked = true;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + option.dataset.label));
      item.appendChild(label);
      chips.appendChild(item);
    }
    input.value = "";
    setOpen(input, false);
    picker.dispatchEvent(new Event("draft:changed", { bubbles: true }));
    announce(picker, option.dataset.label + " added");
    input.focus();
  }

  function announce(picker, text) {
    var status = picker.querySelector("[data-picker-status]");
    if (!status) {
      status = document.createElement("span");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      status.setAttribute("data-picker-status", "");
      picker.appendChild(status);
    }
    status.textContent = text;
  }

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.getAttribute("role") !== "combobox") return;
    var listbox = listboxOf(input);
    var opts = options(listbox);
    var current = activeOption(input);
    var index = opts.indexOf(current);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (listbox.hidden || !opts.length) return;
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : -1;
      activate(input, opts[(index + step + opts.length) % opts.length]);
    } else if (event.key === "Enter") {
      var fresh = listbox.dataset.q === input.value.trim();
      if (!listbox.hidden && fresh && current) {
        event.preventDefault();
        pick(input, current);
      } else if (input.value.trim() && !fresh) {
        // Suggestions for what was just typed are on their way: pick the first when they come.
        event.preventDefault();
        input.dataset.pickWhenReady = "true";
      }
    } else if (event.key === "Escape" && !listbox.hidden) {
      event.preventDefault();
      setOpen(input, false);
    }
  });

  document.addEventListener("mousedown", function (event) {
    if (event.target.closest(".suggestions [role=option]")) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest(".suggestions [role=option][data-id]");
    if (!option) return;
    var input = document.querySelector('[aria-controls="' + option.parentElement.id + '"]');
    pick(input, option);
  });

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input.getAttribute && input.getAttribute("role") === "combobox") {
      setTimeout(function () { if (document.activeElement !== input) setOpen(input, false); }, 150);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target.matches && target.matches(".suggestions")) {
      var input = document.querySelector('[aria-controls="' + target.id + '"]');
      var first = target.querySelector("[role=option]");
      target.dataset.q = first ? first.dataset.q || "" : "";
      var opts = options(target);
      setOpen(input, input.value.trim() !== "" && target.children.length > 0);
      activate(input, opts[0]);
      if (input.dataset.pickWhenReady && target.dataset.q === input.value.trim()) {
        delete input.dataset.pickWhenReady;
        if (opts.length) pick(input, opts[0]);
      }
      return;
    }
  });

  // A swapped-in fragment (e.g. the new-organisation panel) may bring buttons that need this
  // script, and a message that should take the focus so it is read out.
  document.addEventListener("htmx:afterSettle", function (event) {
    revealScriptOnlyControls(document);
    var form = event.target.closest && event.target.closest("form[data-draft]");
    if (form) form.dispatchEvent(new Event("draft:changed"));
    var focus = document.querySelector("[data-autofocus]");
    if (focus) {
      focus.removeAttribute("data-autofocus");
      focus.focus();
    }
  });

  // --- Formset rows (participants): add in place; removal is the row's own checkbox. ---------

  function addRow(prefix) {
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-empty-row");
    var rows = document.getElementById(prefix + "-rows");
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    // The new row's pickers (a participant's contact) fetch their suggestions through htmx.
    if (window.htmx) window.htmx.process(rows.lastElementChild);
    return rows.lastElementChild;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) return;
    var first = addRow(button.dataset.addRow).querySelector("input, select, textarea");
    if (first) first.focus();
  });

  // --- Drafts: what was typed survives an expired session, a reload or a wrong click. ------
  // Kept in this tab's sessionStorage only (gone when the tab closes or on sign-out), and
  // dropped once the server confirms the form was saved (<meta name="saved-draft">).

  var DRAFT = "draft:";

  function draftKey() { return DRAFT + location.pathname; }

  function snapshot(form) {
    var fields = [];
    var pickers = {};
    form.querySelectorAll("[data-picker]").forEach(function (picker) {
      pickers[picker.dataset.name] = Array.from(picker.querySelectorAll(".chips input:checked")).map(function (box) {
        return [box.value, box.parentElement.textContent.trim()];
      });
    });
    Array.from(form.elements).forEach(function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || pickers[el.name] || /^(submit|button|file)$/.test(el.type)) return;
      if (el.type === "checkbox" || el.type === "radio") {
        fields.push([el.name, el.value, el.checked]);
      } else {
        fields.push([el.name, el.value, null]);
      }
    });
    return { fields: fields, pickers: pickers };
  }

  function restore(form, draft) {
    Object.keys(draft.pickers).forEach(function (name) {
      var picker = form.querySelector('[data-picker][data-name="' + CSS.escape(name) + '"]');
      if (!picker) return;
      var chips = picker.querySelector(".chips");
      chips.innerHTML = "";
      draft.pickers[name].forEach(function (chip) {
        var item = document.createElement("li");
        var label = document.createElement("label");
        var box = document.createElement("input");
        label.className = "chip";
        box.type = "checkbox";
        box.name = name;
        box.value = chip[0];
        box.checked = true;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" " + chip[1]));
        item.appendChild(label);
        chips.appendChild(item);
      });
    });
    draft.fields.forEach(function (field) {
      var name = field[0];
      var total = /^(.*)-TOTAL_FORMS$/.exec(name);
      if (total) {
        var current = form.elements[name];
        while (current && parseInt(current.value, 10) < parseInt(field[1], 10)) addRow(total[1]);
      }
    });
    draft.fields.forEach(function (field) {
      var name = field[0], value = field[1], checked = field[2];
      if (checked !== null) {
        var box = form.querySelector('[name="' + CSS.escape(name) + '"][value="' + CSS.escape(value) + '"]');
        if (box) box.checked = checked;
      } else if (!/-TOTAL_FORMS$/.test(name)) {
        var el = form.elements[name];
        if (el && "value" in el) el.value = value;
      }
    });
  }

  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  function watchDraft(form) {
    var key = draftKey();
    var initial = snapshot(form);
    var saved = null;
    try { saved = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    var timer = null;
    function save() {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var now = snapshot(form);
        if (same(now, initial)) return;
        now.savedAt = Date.now();
        try { sessionStorage.setItem(key, JSON.stringify(now)); } catch (e) { /* storage full or off */ }
      }, 250);
    }
    form.addEventListener("input", save);
    form.addEventListener("change", save);
    form.addEventListener("draft:changed", save);

    // A form the server sent back with errors or a conflict already holds what was typed.
    if (!saved || form.hasAttribute("data-draft-bound") || same({ fields: saved.fields, pickers: saved.pickers }, initial)) return;
    var time = new Date(saved.savedAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    var banner = document.createElement("div");
    banner.className = "draft-banner";
    banner.setAttribute("role", "region");
    banner.setAttribute("aria-label", "Unsaved changes");
    banner.tabIndex = -1;
    banner.innerHTML = '<p><strong>Unsaved changes found.</strong> What you typed here at <span data-time></span> was not saved (for example because your session ended).</p>' +
      '<p><button type="button" class="primary" data-restore>Restore my changes</button> <button type="button" data-discard>Discard them</button></p>';
    banner.querySelector("[data-time]").textContent = time;
    form.parentNode.insertBefore(banner, form);
    banner.querySelector("[data-restore]").addEventListener("click", function () {
      restore(form, saved);
      banner.remove();
      var first = form.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
      save();
    });
    banner.querySelector("[data-discard]").addEventListener("click", function () {
      sessionStorage.removeItem(key);
      banner.remove();
    });
    banner.focus();
  }

  function forgetSavedDrafts() {
    document.querySelectorAll('meta[name="saved-draft"]').forEach(function (meta) {
      sessionStorage.removeItem(DRAFT + meta.content);
    });
  }

  document.addEventListener("submit", function (event) {
    if (event.target.matches("[data-sign-out]")) {
      Object.keys(sessionStorage).forEach(function (key) { if (key.indexOf(DRAFT) === 0) sessionStorage.removeItem(key); });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    revealScriptOnlyControls(document);
    forgetSavedDrafts();
    // After a refused save, start where the explanation is, not in the first field.
    var problem = document.getElementById("conflict") || document.getElementById("error-summary");
    if (problem) problem.focus();
    document.querySelectorAll("form[data-draft]").forEach(watchDraft);
  });
})();

// Small screens: the main menu and the list filters ([data-fold-narrow], open in the HTML so
// that they work without JavaScript) fold into their summary button; wide screens show them open.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 48rem)");
  function fold() {
    document.querySelectorAll("details[data-fold-narrow]").forEach(function (details) {
      details.open = !narrow.matches;
    });
  }
  fold();
  narrow.addEventListener("change", fold);
})();

// The import form: choosing what the file holds opens that kind's column help.
document.addEventListener("change", function (event) {
  if (event.target.id !== "id_kind") return;
  var help = document.getElementById("columns-" + event.target.value);
  if (help) help.open = true;
});
