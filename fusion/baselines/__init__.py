"""Comparison networks trained and evaluated on the same harness as the fusion model.

Selected by ``model.arch`` in a recipe (``recipes/baseline_*.yaml``), built by
:func:`weldfusion.fusion.baselines.build.build_baseline` (called from
:func:`weldfusion.fusion.build.build_model`), and returning the fusion model's output dict:

=============  ===========================================  =====================================
arch           module                                       input
=============  ===========================================  =====================================
r2plus1d18     ``r2plus1d.py`` (torchvision R(2+1)D-18)      video clip only
cnn_lstm       ``cnn_lstm.py`` (frame CNN + LSTM + attention)  video, thermal, acoustic, electrical
transformer    ``transformer.py`` (plain transformer fusion)  all modalities as linear tokens
=============  ===========================================  =====================================

``svm_features.py`` holds the hand-crafted features (HOG, Welch band energies, statistics) of
the SVM baseline (``tools/baseline_svm.py``). This package ``__init__`` imports nothing, so that
``fusion/config.py`` can import the baseline config without pulling in the networks.
"""
