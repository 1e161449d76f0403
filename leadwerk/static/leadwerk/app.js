// Small behaviours without inline scripts (the pages run under a strict CSP).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) el.form.submit();
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
document.addEventListener("keydown", (event) => {
  // Ctrl/Cmd+Enter in a form with a [data-ctrl-enter] button clicks that button.
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  const form = event.target.closest && event.target.closest("form");
  const button = form && form.querySelector("[data-ctrl-enter]");
  if (button) { event.preventDefault(); button.click(); }
});
