"""Where articles come from: files and folders (text, HTML, PDF, JSON lines), web pages
and RSS/Atom feeds. Each reader yields articles or a failure that names the item."""
