// Trainer pages: jump from an error to its line in the editor, and copy an invite link.
"use strict";
(function () {
  var editor = document.getElementById("yaml_text");
  function selectLine(box, line) {
    var lines = box.value.split("\n");
    var start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    var end = start + (lines[line - 1] || "").length;
    box.focus();
    box.setSelectionRange(start, end);
    var lineHeight = parseFloat(getComputedStyle(box).lineHeight) || 20;
    box.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }
  if (editor) {
    document.querySelectorAll("a.to-line").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        selectLine(editor, parseInt(link.dataset.line, 10));
      });
    });
  }
  document.querySelectorAll("button.m-copy").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.dataset.copy);
      if (!field) return;
      field.select();
      var done = function () { button.textContent = button.dataset.done; };
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () {});
      else if (document.execCommand("copy")) done();
    });
  });
})();
