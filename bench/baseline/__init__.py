"""The benchmark's baseline: a bare Django view that inserts one row per JSON POST.

Installed only when LEADWERK_BENCH=1 (see leadwerk/settings.py), mounted under /bench/.
"""
