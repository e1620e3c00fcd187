// Print buttons (bulletin, posters): <button data-print>. No inline handlers, so that
// the Content-Security-Policy can forbid inline script.
document.addEventListener("click", function (event) {
  "use strict";
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
