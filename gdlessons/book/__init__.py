"""The course as a static website whose sliders work with no kernel (``make book``).

Each chapter is executed with papermill while every explorer draws all its slider states into
a frames folder (:mod:`gdlessons.display.frames`); Sphinx with MyST-NB then turns the executed
notebooks into HTML pages, and a small script (``static/explorer.js``) swaps an explorer's
picture and readout as its controls move. Nothing is fetched from the network, at build or
view time: the theme, search and scripts are all local files.
"""
