"""The web app, as `python app.py` or as a Hugging Face Space (which runs this file)."""

from qa.config import load_settings
from qa.ui.server import serve

if __name__ == "__main__":
    serve(load_settings())
