"""The web app, as `python app.py` or as a Hugging Face Space (which runs this file)."""

from qa.ui.server import main

if __name__ == "__main__":
    main()
