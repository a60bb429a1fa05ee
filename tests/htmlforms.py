"""What a browser would submit from an HTML form: the soak's editor and the two-servers test
drive the admin over real HTTP with it. Standard library only."""

from html.parser import HTMLParser


class FormFields(HTMLParser):
    """The fields a browser would submit from the form with ``form_id``."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.fields = form_id, False, []
        self.select = self.textarea = self.select_chosen = None
        self.select_multiple = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or "name" not in attrs and tag != "option":
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.fields.append([attrs["name"], attrs.get("value", default)])
        elif tag == "textarea":
            self.textarea = [attrs["name"], ""]
            self.fields.append(self.textarea)
        elif tag == "select":
            self.select = attrs["name"]
            self.select_multiple = "multiple" in attrs
            self.select_chosen = None
        elif tag == "option" and self.select:
            if "selected" in attrs:
                self.select_chosen = True
                self.fields.append([self.select, attrs.get("value", "")])
            elif self.select_chosen is None and not self.select_multiple:
                # A single select with nothing marked sends its first option, as browsers do.
                self.select_chosen = [self.select, attrs.get("value", "")]

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            if isinstance(self.select_chosen, list):
                self.fields.append(self.select_chosen)
            self.select = self.select_chosen = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data
