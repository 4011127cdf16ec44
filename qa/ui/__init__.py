"""The Gradio web app: it only calls the pipeline."""
