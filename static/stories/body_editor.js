// The story body's editor: django-prose-editor's "configurable" preset, set up here so that
// Tiptap injects no <style> element (the CSP allows only stylesheets from this site; its base
// rules are in body_editor.css). The extensions come from the widget's data attribute,
// written by stories.editorial.writing.BodyEditorWidget; the server sanitizes whatever is
// posted (stories.richtext), so this only has to offer the allowed formatting.
import * as editorModule from "django-prose-editor/editor";

const ATTRIBUTE = "data-django-prose-editor-newsroom";
// ProseMirror's empty document is one empty block: that is an empty body.
const EMPTY = /^<(\w+)(\s[^>]*)?><\/\1>$/i;
// As stories.richtext counts them: runs between spaces holding a letter or digit.
const WORD = /[\p{L}\p{N}_]/u;
const WORDS_PER_MINUTE = 230;

function lengthOf(editor) {
  const words = editor.getText().split(/\s+/).filter((token) => WORD.test(token)).length;
  const minutes = Math.max(1, Math.ceil(words / WORDS_PER_MINUTE));
  return `${words} word${words === 1 ? "" : "s"}, about ${minutes} min read`;
}

// The editable area is what screen readers land on, not the hidden textarea: it takes the
// field's label as its name and the field's help text as its description.
function fieldAttributes(textarea) {
  const label = textarea.id && document.querySelector(`label[for="${textarea.id}"]`);
  const name = label ? label.textContent.trim().replace(/:$/, "") : textarea.name;
  const attributes = { "aria-label": name, "aria-multiline": "true" };
  const described = textarea.getAttribute("aria-describedby");
  if (described) {
    attributes["aria-describedby"] = described;
  }
  return attributes;
}

// The toolbar shows a button's state only by its look (the classes "active" and "disabled"):
// screen readers are told too. Formatting buttons are toggles; the others (link) are not.
const TOGGLES = new Set(["bold", "italic", "bulletList", "orderedList", "blockquote"]);

function announceToolbarStates(wrapper) {
  for (const button of wrapper.querySelectorAll(".prose-menubar__button[data-name]")) {
    button.setAttribute("aria-disabled", String(button.classList.contains("disabled")));
    if (TOGGLES.has(button.dataset.name)) {
      button.setAttribute("aria-pressed", String(button.classList.contains("active")));
    }
  }
}

function createEditor(textarea) {
  if (textarea.closest(".prose-editor")) {
    return null;
  }
  const config = JSON.parse(textarea.getAttribute(ATTRIBUTE) || "{}");
  const extensions = Object.entries(config.extensions || {}).map(([name, options]) => {
    const extension = editorModule[name];
    if (!extension) {
      throw new Error(`The body editor has no extension called ${name}.`);
    }
    return typeof options === "object" ? extension.configure(options) : extension;
  });
  const disabled = textarea.hasAttribute("disabled");
  const wrapper = editorModule.crel("div", {
    className: disabled ? "prose-editor disabled" : "prose-editor",
  });
  textarea.before(wrapper);
  wrapper.append(textarea);
  const length = document.createElement("div");
  length.className = "help body-length";
  length.setAttribute("aria-live", "polite");
  // Under the editor's row (label and editor side by side), above the help text.
  (wrapper.closest(".flex-container") || wrapper).after(length);
  const editor = new editorModule.Editor({
    element: wrapper,
    editable: !disabled,
    extensions,
    content: textarea.value,
    injectCSS: false,
    editorProps: { attributes: fieldAttributes(textarea) },
    onCreate({ editor: created }) {
      length.textContent = lengthOf(created);
      announceToolbarStates(wrapper);
      // The toolbar changes its classes on each transaction; follow them, whichever runs first.
      new MutationObserver(() => announceToolbarStates(wrapper)).observe(wrapper, {
        subtree: true,
        attributeFilter: ["class"],
      });
    },
    onUpdate({ editor: updated }) {
      length.textContent = lengthOf(updated);
      const html = updated.getHTML();
      textarea.value = EMPTY.test(html) ? "" : html;
      // Others (previews, autosave, counts) listen to the textarea as to any other field.
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
    },
    onDestroy() {
      wrapper.before(textarea);
      wrapper.remove();
      length.remove();
    },
  });
  // A script that sets the textarea's value (autosave's Restore) says so with this event: the
  // editor then shows that text instead of writing its own back over it on the next keystroke.
  textarea.addEventListener("newsroom:value-set", () => {
    editor.commands.setContent(textarea.value || "");
  });
  textarea.dispatchEvent(
    new CustomEvent("prose-editor:ready", { detail: { editor, textarea }, bubbles: true }),
  );
  return editor;
}

editorModule.initializeEditors(createEditor, `[${ATTRIBUTE}]`);
