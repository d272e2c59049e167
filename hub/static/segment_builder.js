// The segment builder: the rule tree as rows of field / operator / value in nested "all of /
// any of" groups, drawn from the catalogue the server embeds (#segment-catalogue). Every change
// is written back to the form's match select and rules JSON (the advanced box), which is what
// the form posts; editing that JSON redraws the rows. The live preview's errors (campaigns.js
// sends them as a "segment-preview" event) are shown beside the rule or group they name.
(function () {
  "use strict";
  var form = document.getElementById("segment-form");
  var source = document.getElementById("segment-catalogue");
  if (!form || !source || !window.HubSegmentInputs) { return; }
  var I = window.HubSegmentInputs;
  var el = I.el;
  var data = JSON.parse(source.textContent);
  var cat = data.catalogue;
  var words = data.words;
  var root = document.getElementById("segment-builder");
  var textarea = form.elements.rules;
  var matchSelect = form.elements.match;
  var jsonError = document.getElementById("segment-json-error");
  var fields = {};
  cat.fields.forEach(function (f) { fields[f.name] = f; });
  var tree = { match: matchSelect.value, rules: [] };
  var slots = {};  // builder path -> its error line
  var pathMap = {};  // path in the posted JSON -> path in the builder

  var tags = el("datalist", { id: "segment-tags" });
  cat.tags.forEach(function (t) { tags.appendChild(el("option", { value: t })); });
  form.appendChild(tags);

  function isGroup(node) {
    return node !== null && typeof node === "object" && !Array.isArray(node) && "rules" in node;
  }

  // Whether JSON can be drawn as rows: objects all the way down, groups holding lists.
  function drawable(list) {
    return Array.isArray(list) && list.every(function (node) {
      if (node === null || typeof node !== "object" || Array.isArray(node)) { return false; }
      return isGroup(node) ? drawable(node.rules) : true;
    });
  }

  function childPath(path, i) { return (path ? path + "." : "") + "rules[" + i + "]"; }

  // The rules as posted: a row still without a field, and a group left with no rule, are the
  // builder's only (they would only be refused); pathMap remembers where the rest came from.
  function posted(list, builderPath, postedPath) {
    var out = [];
    list.forEach(function (node, i) {
      var from = childPath(builderPath, i);
      var to = childPath(postedPath, out.length);
      if (isGroup(node)) {
        var inner = posted(node.rules, from, to);
        if (!inner.length) { return; }
        out.push(Object.assign({}, node, { rules: inner }));
      } else if (node.field) {
        out.push(node);
      } else {
        return;
      }
      pathMap[to] = from;
    });
    return out;
  }

  function sync() {
    matchSelect.value = tree.match === "any" ? "any" : "all";
    pathMap = { "": "" };
    textarea.value = JSON.stringify(posted(tree.rules, "", ""), null, 2);
    jsonError.hidden = true;
    root.dispatchEvent(new Event("input", { bubbles: true }));  // the live preview listens
  }

  function button(text, label, key, onClick) {
    var b = el("button", { type: "button", "class": "small", "data-key": key }, text);
    if (label) { b.setAttribute("aria-label", label); b.title = label; }
    b.addEventListener("click", onClick);
    return b;
  }

  // Up, down and remove for the node at list[i]; each redraws and keeps the focus on its button.
  function controls(list, i, path, parentPath) {
    var box = el("span", { "class": "seg-controls" });
    function move(step) {
      return function () {
        var node = list.splice(i, 1)[0];
        list.splice(i + step, 0, node);
        changed();
        var key = childPath(parentPath, i + step) + (step < 0 ? ":up" : ":down");
        redraw(key);
      };
    }
    var up = button("↑", words.up, path + ":up", move(-1));
    var down = button("↓", words.down, path + ":down", move(1));
    up.disabled = i === 0;
    down.disabled = i === list.length - 1;
    box.append(up, down, button("×", words.remove, path + ":remove", function () {
      list.splice(i, 1);
      changed();
      redraw(parentPath + ":add");
    }));
    return box;
  }

  function fieldSelect(rule, path) {
    var select = el("select", { "aria-label": words.field, "data-key": path + ":field" });
    select.appendChild(el("option", { value: "" }, words.choose_field));
    var groups = {};
    cat.groups.forEach(function (g) {
      groups[g.key] = el("optgroup", { label: g.label });
    });
    cat.fields.forEach(function (f) {
      var group = groups[f.group] || select;
      group.appendChild(el("option", { value: f.name }, f.label));
    });
    cat.groups.forEach(function (g) { if (groups[g.key].children.length) { select.appendChild(groups[g.key]); } });
    if (rule.field && !fields[rule.field]) { select.appendChild(el("option", { value: rule.field }, rule.field)); }
    select.value = rule.field || "";
    select.addEventListener("change", function () {
      var field = fields[select.value];
      Object.keys(rule).forEach(function (k) { delete rule[k]; });
      if (field) { rule.field = field.name; rule.op = field.ops[0].op; }
      // Drawn first: a list's first choice becomes the value as it is drawn, then it is posted.
      redraw(path + ":op");
      changed();
    });
    return select;
  }

  function opSelect(field, rule, path) {
    var select = el("select", { "aria-label": words.operator, "data-key": path + ":op" });
    var ops = field.ops.slice();
    if (rule.op && !ops.some(function (o) { return o.op === rule.op; })) { ops.push({ op: rule.op, label: rule.op }); }
    ops.forEach(function (o) { select.appendChild(el("option", { value: o.op }, o.label)); });
    if (!rule.op) { rule.op = ops[0].op; }
    select.value = rule.op;
    select.addEventListener("change", function () {
      I.fitValue(rule, rule.op, select.value);
      rule.op = select.value;
      redraw(path + ":op");
      changed();
    });
    return select;
  }

  function errorLine(path) {
    var line = el("p", { "class": "field-error seg-error", role: "alert", "data-error-for": path });
    line.hidden = true;
    slots[path] = line;
    return line;
  }

  function ruleView(rule, list, i, path, parentPath) {
    var row = el("div", { "class": "seg-rule", "data-path": path });
    var field = fields[rule.field];
    row.appendChild(fieldSelect(rule, path));
    if (field) {
      row.appendChild(opSelect(field, rule, path));
      row.appendChild(I.editor(field, rule, { words: words, tagList: "segment-tags", changed: changed }));
    } else {
      row.appendChild(el("span"));
      row.appendChild(el("span"));
    }
    row.appendChild(controls(list, i, path, parentPath));
    row.appendChild(errorLine(path));
    return row;
  }

  function groupView(group, path, depth, list, i, parentPath) {
    var box = el("div", { "class": "seg-group" + (depth === 1 ? " seg-top" : ""), "data-path": path, role: "group" });
    var head = el("div", { "class": "seg-head" });
    var match = el("select", { "aria-label": words.match_all, "data-key": path + ":match" });
    match.append(el("option", { value: "all" }, words.match_all), el("option", { value: "any" }, words.match_any));
    match.value = group.match === "any" ? "any" : "all";
    match.addEventListener("change", function () { group.match = match.value; changed(); });
    head.appendChild(match);
    if (list) { head.appendChild(controls(list, i, path, parentPath)); }
    box.append(head, errorLine(path));
    var items = el("ol", { "class": "seg-rules" });
    group.rules.forEach(function (node, j) {
      var at = childPath(path, j);
      var li = el("li");
      li.appendChild(isGroup(node) ? groupView(node, at, depth + 1, group.rules, j, path) : ruleView(node, group.rules, j, at, path));
      items.appendChild(li);
    });
    if (!group.rules.length) { items.appendChild(el("li", { "class": "muted" }, words.empty_group)); }
    box.appendChild(items);
    var actions = el("div", { "class": "seg-actions" });
    actions.appendChild(button("+ " + words.add_rule, null, path + ":add", function () {
      group.rules.push({});
      redraw(childPath(path, group.rules.length - 1) + ":field");
    }));
    if (depth < cat.max_depth) {
      actions.appendChild(button("+ " + words.add_group, null, path + ":group", function () {
        group.rules.push({ match: "any", rules: [{}] });
        redraw(childPath(childPath(path, group.rules.length - 1), 0) + ":field");
      }));
    }
    box.appendChild(actions);
    return box;
  }

  function redraw(focusKey) {
    slots = {};
    root.replaceChildren(groupView(tree, "", 1, null, 0, ""));
    if (focusKey) {
      var target = Array.prototype.find.call(root.querySelectorAll("[data-key]"), function (n) {
        return n.dataset.key === focusKey && !n.disabled;
      });
      if (target) { target.focus(); }
    }
  }

  function changed() { sync(); }

  // Each error beside the deepest rule or group its place names (rules[1].rules[0].value is the
  // first rule of the second node's group); returns the fields it placed.
  function place(errors) {
    Object.keys(slots).forEach(function (p) {
      slots[p].hidden = true;
      slots[p].replaceChildren();
      var owner = slots[p].parentNode;
      if (owner) { owner.classList.remove("seg-invalid"); }
    });
    var placed = [];
    errors.forEach(function (e) {
      if (!/^(rules|match)\b/.test(e.field)) { return; }
      var best = "";
      Object.keys(pathMap).forEach(function (p) {
        var under = e.field === p || e.field.indexOf(p + ".") === 0 || e.field.indexOf(p + "[") === 0;
        if (p && under && p.length > best.length) { best = p; }
      });
      var slot = slots[pathMap[best]] || slots[""];
      slot.appendChild(el("span", { "class": "seg-error-line" }, e.message));
      slot.hidden = false;
      slot.parentNode.classList.add("seg-invalid");
      placed.push(e.field);
    });
    return placed;
  }

  function fromJson(text) {
    var rules;
    try { rules = JSON.parse(text); } catch (e) { rules = undefined; }
    if (rules === undefined || !drawable(rules)) {
      jsonError.textContent = rules === undefined ? words.bad_json : words.not_rows;
      jsonError.hidden = false;
      return false;
    }
    jsonError.hidden = true;
    tree.rules = rules;
    tree.match = matchSelect.value;
    return true;
  }

  textarea.addEventListener("input", function () { if (fromJson(textarea.value)) { redraw(); } });
  form.addEventListener("segment-preview", function (e) {
    place(e.detail.errors || []);
    if (e.detail.errors) { e.preventDefault(); }
  });

  var ok = fromJson(textarea.value.trim() || "[]");
  root.hidden = false;
  document.getElementById("segment-match").hidden = true;
  if (ok) { document.getElementById("segment-advanced").open = false; }
  pathMap = { "": "" };
  posted(tree.rules, "", "");
  redraw();
  var initial = Object.keys(data.errors || {}).map(function (k) { return { field: k, message: data.errors[k] }; });
  place(initial).forEach(function (f) {
    var li = document.querySelector('#rule-errors li[data-field="' + CSS.escape(f) + '"]');
    if (li) { li.hidden = true; }
  });
})();
