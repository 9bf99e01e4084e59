// The console's only script: a chosen mapping file fills the text area (pasting works without it).
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[type=file][data-fills]")) {
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      const target = document.getElementById(input.dataset.fills);
      if (!file || !target) return;
      if (file.size > 256 * 1024) { alert("That file is larger than 256 KiB."); return; }
      file.text().then((t) => { target.value = t; target.focus(); });
    });
  }
});
