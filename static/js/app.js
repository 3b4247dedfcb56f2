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
  document.addEventListener("htmx:afterSettle", function () {
    revealScriptOnlyControls(document);
    var focus = document.querySelector("[data-autofocus]");
    if (focus) {
      focus.removeAttribute("data-autofocus");
      focus.focus();
    }
  });

  // --- Formset rows (participants): add in place; removal is the row's own checkbox. ---------

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-row]");
    if (!button) return;
    var prefix = button.dataset.addRow;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-empty-row");
    var rows = document.getElementById(prefix + "-rows");
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var row = rows.lastElementChild;
    var first = row.querySelector("input, select, textarea");
    if (first) first.focus();
  });

  document.addEventListener("DOMContentLoaded", function () { revealScriptOnlyControls(document); });
})();
