"""Layer 7: training: the Trainer helpers, bootstrapped source models, CPT, LEP, calibration and tuning, CLO."""
