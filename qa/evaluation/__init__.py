"""Measure how well the bot answers a knowledge base: `qa eval` and the quality benchmark."""
