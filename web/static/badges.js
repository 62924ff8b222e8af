// Label badges: the reason shows on hover and keyboard focus (CSS); a tap or click toggles it too.
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    const target = ev.target;
    if (!(target instanceof Element)) return;
    const badge = target.closest("button.badge");
    document.querySelectorAll("button.badge[aria-expanded='true']").forEach(function (b) {
      if (b !== badge) b.setAttribute("aria-expanded", "false");
    });
    if (badge) badge.setAttribute("aria-expanded", badge.getAttribute("aria-expanded") === "true" ? "false" : "true");
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    document.querySelectorAll("button.badge[aria-expanded='true']").forEach(function (b) {
      b.setAttribute("aria-expanded", "false");
    });
  });
})();
