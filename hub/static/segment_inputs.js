// The segment builder's value inputs: one per kind of field and operator (checkboxes for a short
// list, a picker for dates, "N days" for relative dates, numbers, a list of typed values). Each
// writes straight into its rule object and calls `changed()`; all text comes from the server's
// catalogue and is set with textContent.
(function () {
  "use strict";
  var NO_VALUE = ["is_empty", "not_empty"];
  var LISTS = ["in", "not_in", "contains_any"];
  var RELATIVE = ["in_last_days", "more_than_days_ago", "in_next_days"];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function asList(value) {
    if (Array.isArray(value)) { return value.map(String); }
    return value === undefined || value === null || value === "" ? [] : [String(value)];
  }

  // What a number box holds: a number when it reads as one, the text otherwise (the server names
  // it), nothing when empty (the server says the value is required).
  function numberOf(text) {
    if (text === "") { return null; }
    var n = Number(text);
    return isFinite(n) ? n : text;
  }

  function setValue(rule, value) {
    if (value === null || value === undefined || (Array.isArray(value) && !value.length)) {
      delete rule.value;
    } else {
      rule.value = value;
    }
  }

  function labelled(input, label) {
    input.setAttribute("aria-label", label);
    return input;
  }

  // Checkboxes for a list of known values; a stored value the list lacks is kept and shown too.
  function checkboxes(rule, choices, ctx, asNumbers) {
    var box = el("div", { "class": "seg-checks", role: "group", "aria-label": ctx.words.value });
    var chosen = asList(rule.value);
    var all = choices.slice();
    chosen.forEach(function (v) {
      if (!all.some(function (c) { return c.value === v; })) { all.push({ value: v, label: v }); }
    });
    all.forEach(function (c) {
      var input = el("input", { type: "checkbox", value: c.value });
      input.checked = chosen.indexOf(c.value) !== -1;
      var label = el("label", { "class": "check" });
      label.append(input, document.createTextNode(c.label));
      box.appendChild(label);
    });
    box.addEventListener("change", function () {
      var picked = Array.prototype.filter.call(box.querySelectorAll("input"), function (i) { return i.checked; })
        .map(function (i) { return asNumbers ? Number(i.value) : i.value; });
      setValue(rule, picked);
      ctx.changed();
    });
    return box;
  }

  function select(rule, choices, ctx, asNumbers) {
    var input = labelled(el("select"), ctx.words.value);
    var current = asList(rule.value)[0];
    var all = choices.slice();
    if (current !== undefined && !all.some(function (c) { return c.value === current; })) {
      all.push({ value: current, label: current });
    }
    all.forEach(function (c) { input.appendChild(el("option", { value: c.value }, c.label)); });
    if (current === undefined && all.length) { current = all[0].value; }
    input.value = current === undefined ? "" : current;
    function save() {
      setValue(rule, input.value === "" ? null : (asNumbers ? Number(input.value) : input.value));
      ctx.changed();
    }
    input.addEventListener("change", save);
    if (input.value !== "") { setValue(rule, asNumbers ? Number(input.value) : input.value); }
    return input;
  }

  function textBox(rule, ctx, list) {
    var input = labelled(el("input", { type: "text", maxlength: "200" }), ctx.words.value);
    if (list) { input.setAttribute("list", list); }
    input.value = asList(rule.value)[0] || "";
    input.addEventListener("input", function () { setValue(rule, input.value.trim() || null); ctx.changed(); });
    return input;
  }

  function numberBox(value, label, range) {
    var input = labelled(el("input", { type: "number", step: "any", inputmode: "decimal" }), label);
    if (range) { input.min = String(range[0]); input.max = String(range[1]); }
    input.value = value === undefined || value === null ? "" : String(value);
    return input;
  }

  function dateBox(value, label) {
    var input = labelled(el("input", { type: "date" }), label);
    input.value = typeof value === "string" ? value : "";
    return input;
  }

  // Two boxes for "between", or one: each change writes [low, high] or the single value.
  function oneOrPair(rule, op, ctx, make, read) {
    var wrap = el("span", { "class": "seg-pair" });
    if (op !== "between") {
      var single = make(Array.isArray(rule.value) ? undefined : rule.value, ctx.words.value);
      single.addEventListener("input", function () { setValue(rule, read(single.value)); ctx.changed(); });
      wrap.appendChild(single);
      return wrap;
    }
    var pair = Array.isArray(rule.value) ? rule.value : [];
    var low = make(pair[0], ctx.words.from);
    var high = make(pair[1], ctx.words.to);
    function save() {
      var a = read(low.value), b = read(high.value);
      setValue(rule, a === null && b === null ? null : [a, b]);
      ctx.changed();
    }
    low.addEventListener("input", save);
    high.addEventListener("input", save);
    wrap.append(low, el("span", { "class": "muted" }, ctx.words.and), high);
    return wrap;
  }

  // Typed values as removable chips: Enter, a comma (either width) or leaving the box adds one.
  function chips(rule, ctx, list) {
    var wrap = el("div", { "class": "seg-chips" });
    var shown = el("span", { "class": "seg-chip-list" });
    var input = labelled(el("input", { type: "text", placeholder: ctx.words.type_enter, maxlength: "200" }), ctx.words.value);
    if (list) { input.setAttribute("list", list); }
    function draw() {
      shown.replaceChildren();
      asList(rule.value).forEach(function (v, i) {
        var chip = el("span", { "class": "pill seg-chip" }, v + " ");
        var x = el("button", { type: "button", "class": "small", "aria-label": ctx.words.remove_value.replace("{v}", v) }, "×");
        x.addEventListener("click", function () {
          var values = asList(rule.value);
          values.splice(i, 1);
          setValue(rule, values);
          draw();
          ctx.changed();
          input.focus();
        });
        chip.appendChild(x);
        shown.appendChild(chip);
      });
    }
    function add() {
      var values = asList(rule.value);
      input.value.split(/[,，]/).map(function (s) { return s.trim(); }).forEach(function (v) {
        if (v && values.indexOf(v) === -1) { values.push(v); }
      });
      input.value = "";
      setValue(rule, values);
      draw();
      ctx.changed();
    }
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); add(); }
    });
    input.addEventListener("input", function () { if (/[,，]/.test(input.value)) { add(); } });
    input.addEventListener("change", function () { if (input.value.trim()) { add(); } });
    draw();
    wrap.append(shown, input);
    return wrap;
  }

  function period(rule, ctx) {
    var wrap = el("span", { "class": "seg-period" });
    var from = dateBox(rule.from, ctx.words.in_period + " " + ctx.words.from);
    var to = dateBox(rule.to, ctx.words.in_period + " " + ctx.words.to);
    function save() {
      if (from.value) { rule.from = from.value; } else { delete rule.from; }
      if (to.value) { rule.to = to.value; } else { delete rule.to; }
      ctx.changed();
    }
    from.addEventListener("input", save);
    to.addEventListener("input", save);
    wrap.append(el("span", { "class": "muted" }, ctx.words.in_period + " (" + ctx.words.any_time + ")"),
      from, el("span", { "class": "muted" }, ctx.words.to), to);
    return wrap;
  }

  // The value part of a rule for its field's input and operator.
  function editor(field, rule, ctx) {
    var op = rule.op;
    var wrap = el("div", { "class": "seg-value" });
    if (field.input !== "period") { delete rule.from; delete rule.to; }
    if (NO_VALUE.indexOf(op) !== -1) { delete rule.value; return wrap; }
    var kind = field.input;
    var many = LISTS.indexOf(op) !== -1;
    if (kind === "date" && RELATIVE.indexOf(op) !== -1) {
      var days = numberBox(rule.value, ctx.words.days, [0, 36500]);
      days.step = "1";
      days.addEventListener("input", function () { setValue(rule, numberOf(days.value)); ctx.changed(); });
      wrap.append(days, el("span", { "class": "muted" }, ctx.words.days));
    } else if (kind === "date") {
      wrap.appendChild(oneOrPair(rule, op, ctx, dateBox, function (v) { return v || null; }));
    } else if (kind === "number" || kind === "period" || kind === "survey") {
      var make = function (v, label) { return numberBox(v, label, field.range); };
      wrap.appendChild(oneOrPair(rule, op, ctx, make, numberOf));
      if (kind === "period") { wrap.appendChild(period(rule, ctx)); }
    } else if ((kind === "choices" || kind === "owner") && op !== "contains") {
      var ids = kind === "owner";
      wrap.appendChild(many ? checkboxes(rule, field.choices, ctx, ids) : select(rule, field.choices, ctx, ids));
    } else if (kind === "consent") {
      wrap.appendChild(select(rule, field.choices, ctx, false));
    } else if (kind === "tags") {
      wrap.appendChild(many ? chips(rule, ctx, ctx.tagList) : textBox(rule, ctx, ctx.tagList));
    } else {
      wrap.appendChild(many ? chips(rule, ctx, null) : textBox(rule, ctx, null));
    }
    return wrap;
  }

  function shape(op) {
    if (NO_VALUE.indexOf(op) !== -1) { return "none"; }
    if (op === "between") { return "pair"; }
    if (LISTS.indexOf(op) !== -1) { return "list"; }
    return RELATIVE.indexOf(op) !== -1 ? "days" : "one";
  }

  // A value kept across an operator change when it still fits ("is" B to "is one of" [B] and
  // back), else dropped, so a box never shows one value while the rule holds another.
  function fitValue(rule, was, op) {
    var a = shape(was), b = shape(op);
    if (a === b) { return; }
    if (a === "list" && b === "one" && Array.isArray(rule.value) && rule.value.length) {
      rule.value = rule.value[0];
    } else if (a === "one" && b === "list" && rule.value !== undefined) {
      rule.value = [rule.value];
    } else {
      delete rule.value;
    }
  }

  window.HubSegmentInputs = { editor: editor, fitValue: fitValue, el: el };
})();
