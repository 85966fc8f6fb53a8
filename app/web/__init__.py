"""The web chat (`minigiant serve`): a Gradio app over the same `QA` pipeline as the CLI.

Importing this package is cheap: gradio is imported only by `app.web.ui` and
`app.web.server`, so `Settings` (which names `WebSettings`) never pulls it in.
"""
