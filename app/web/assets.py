"""The page's look (a Gradio theme plus a little CSS) and its one script (citation clicks).

Fonts are the system's: the default Gradio theme would fetch Google Fonts, and this app
sends nothing off the machine.
"""

from __future__ import annotations

SYSTEM_FONTS = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


def theme():
    import gradio as gr

    return gr.themes.Soft(
        primary_hue="indigo", neutral_hue="slate", font=SYSTEM_FONTS, font_mono=MONO_FONTS
    )


# Citation links carry "#mg-cite/<answer id>/<n>"; a click puts "<answer id>/<n>" into a
# hidden textbox and presses a hidden button, whose server handler fills the side panel.
HEAD = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest ? event.target.closest("a.mg-cite") : null;
  if (!link) return;
  const found = (link.getAttribute("href") || "").match(/#mg-cite\\/([\\w-]+)\\/(\\d+)$/);
  if (!found) return;
  event.preventDefault();
  event.stopPropagation();
  const box = document.querySelector("#mg-cite-target textarea, #mg-cite-target input");
  const open = document.querySelector("#mg-cite-open");
  if (!box || !open) return;
  box.value = found[1] + "/" + found[2];
  box.dispatchEvent(new Event("input", { bubbles: true }));
  setTimeout(() => (open.tagName === "BUTTON" ? open : open.querySelector("button")).click(), 50);
}, true);
</script>
"""

CSS = """
#mg-cite-target, #mg-cite-open { display: none !important; }
.mg-header { display: flex; align-items: baseline; gap: .75rem; }
.mg-header h1 { margin: 0; font-size: 1.4rem; }
.mg-header .mg-stats { color: var(--body-text-color-subdued); font-size: .9rem; }
a.mg-cite {
  display: inline-block; padding: 0 .3em; margin: 0 .05em; border-radius: .35em;
  background: var(--color-accent-soft); color: var(--color-accent) !important;
  font-size: .85em; font-weight: 600; text-decoration: none !important; cursor: pointer;
}
a.mg-cite:hover { background: var(--color-accent); color: white !important; }
.mg-sources {
  margin-top: .6em; padding-top: .45em; border-top: 1px solid var(--border-color-primary);
  font-size: .88em; color: var(--body-text-color-subdued);
}
.mg-meta { float: right; font-size: .85em; }
.mg-typing { color: var(--color-accent); animation: mg-blink 1s steps(2) infinite; }
@keyframes mg-blink { 50% { opacity: 0; } }
.mg-warning {
  padding: .4em .7em; border-radius: .4em; margin-bottom: .5em;
  background: #fff4e5; color: #8a4b00; border: 1px solid #f5c27a; font-weight: 600;
}
.mg-grounded { color: #1f7a3a; font-size: .85em; margin-bottom: .3em; }
.mg-unsupported {
  text-decoration: underline wavy #d93025; text-underline-offset: 3px;
  background: rgba(217, 48, 37, .07);
}
sup.mg-bad { color: #d93025; font-size: .7em; font-weight: 600; margin-left: .15em; }
sup.mg-ok { font-size: .7em; margin-left: .15em; }
sup.mg-ok a.mg-cite { background: rgba(31, 122, 58, .12); color: #1f7a3a !important; }
.mg-details table { font-size: .82em; border-collapse: collapse; width: 100%; }
.mg-details th, .mg-details td { padding: .2em .5em; text-align: left; }
.mg-details td:nth-child(n+4) { font-variant-numeric: tabular-nums; }
.mg-timings { font-size: .82em; color: var(--body-text-color-subdued); margin-top: .4em; }
.mg-standalone { font-size: .9em; margin: 0 0 .4em; }
.mg-passage-num { font-size: .8em; color: var(--color-accent); font-weight: 700; }
.mg-passage-title { margin: .1em 0 .2em 0; }
.mg-passage-source { font-family: var(--font-mono); font-size: .85em; word-break: break-all; }
.mg-passage-meta { font-size: .8em; color: var(--body-text-color-subdued); margin: .2em 0 .6em; }
.mg-passage-text {
  white-space: pre-wrap; line-height: 1.55; font-size: .92em; color: var(--body-text-color-subdued);
  max-height: 65vh; overflow-y: auto; padding: .6em; border-radius: .5em;
  background: var(--background-fill-secondary);
}
.mg-passage-text mark {
  color: var(--body-text-color); background: rgba(255, 214, 0, .38); padding: .05em 0;
}
.mg-passage-empty { color: var(--body-text-color-subdued); font-size: .9em; }
.mg-backs { font-size: .85em; margin-bottom: .5em; }
"""
