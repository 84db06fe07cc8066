"""Where the real images' Python code raises: the frames of the traceback sagemaker-containers writes to
``/opt/ml/output/failure`` (``_trainer.py``: ``"framework error: \n%s\n%s" % (traceback.format_exc(), str(e))``).

Line numbers and source lines of ``src/sagemaker_xgboost_container/training.py``, ``algorithm_mode/train.py`` and
``src/sagemaker_algorithm_toolkit/{hyperparameter,channel}_validation.py`` on each branch of
github.com/aws/sagemaker-xgboost-container (the ``v3.0-5`` tag for 3.0-5), and ``sagemaker_containers/_trainer.py``
of aws/sagemaker-containers v2.8.6.post2. A multi-line call is reported at its last argument by Python ≤ 3.7
and at its first line from 3.8, as the images' Pythons do.
"""

from __future__ import annotations

# The source lines, each once.
_C0 = "train(framework.training_env())"
_C1 = "run_algorithm_mode()"
_C2 = "train_path = os.environ[sm_env_constants.SM_CHANNEL_TRAIN]"
_C3 = "checkpoint_config=checkpoint_config"
_C4 = "validated_train_config = hyperparameters.validate(train_config)"
_C5 = "validated_data_config = channels.validate(data_config)"
_C6 = "train_dmatrix, val_dmatrix = get_validated_dmatrices(train_path, val_path, file_type, csv_weights, is_pipe)"
_C7 = 'raise exc.UserError("No data in training channel path {}".format(train_path))'
_C8 = 'raise exc.UserError("No data in validation channel path {}".format(val_path))'
_C9 = "train_job(**train_args)"
_C10 = 'raise exc.AlgorithmError("{}:\\n {}".format(exception_prefix, str(e)))'
_C11 = "raise exc.UserError(str(e))"
_C12 = 'raise exc.UserError("Missing required hyperparameter: {}".format(hp))'
_C13 = "hyperparameter_obj = self.hyperparameters[hp]"
_C14 = 'raise exc.UserError("Extraneous hyperparameter found: {}".format(hp))'
_C15 = "converted_hyperparameters[hp] = hyperparameter_obj.parse(value)"
_C16 = 'raise exc.UserError("Hyperparameter {}: could not parse value".format(hp), caused_by=e)'
_C17 = "self.hyperparameters[hp].validate_range(value)"
_C18 = "self.hyperparameters[hp].validate_dependencies(value, dependencies)"
_C19 = 'raise exc.UserError("Missing required channel: {}".format(channel.name))'
_C20 = 'raise exc.UserError("Extraneous channel found: {}".format(channel))'
_C21 = "channel_obj.validate(value)"
_C22 = "raise exc.UserError(\"Channel configuration for '{}' channel is not supported: {}\".format(self.name, value))"
_C23 = "csv_weights, is_pipe, combine_train_val)"
_C24 = "sagemaker_train("
_C25 = "train_dmatrix, val_dmatrix, train_val_dmatrix = get_validated_dmatrices("
_C26 = 'raise exc.UserError(f"No data in training channel path {train_path}")'
_C27 = 'raise exc.UserError(f"No data in validation channel path {val_path}")'
_C28 = 'raise exc.AlgorithmError(f"{exception_prefix}:\\n {str(e)}")'
_C29 = "checkpoint_config=checkpoint_config,"
_C30 = "train_path, val_path, file_type, csv_weights, is_pipe, combine_train_val"

#: version -> site -> (line, source line[, function]). Sites: ``main``/``train``/``call`` (training.py ->
#: sagemaker_train), ``chan`` (``os.environ[SM_CHANNEL_TRAIN]``), sagemaker_train's ``hp``/``ch``/``dm``/``job``/
#: ``no_train``/``no_val``, train_job's ``alg``/``usr`` raises, the toolkit validators' ``h_*`` and ``c_*``.
FRAMES: dict[str, dict[str, tuple[int, str] | tuple[int, str, str]]] = {
    "0.90-1": {
        "main": (94, _C0),
        "train": (90, _C1),
        "chan": (56, _C2),
        "call": (68, _C3),
        "hp": (87, _C4),
        "ch": (92, _C5),
        "dm": (104, _C6),
        "no_train": (137, _C7),
        "no_val": (132, _C8),
        "job": (135, _C9),
        "alg": (199, _C10, "train_job"),
        "usr": (196, _C11, "train_job"),
        "h_missing": (206, _C12),
        "h_key": (214, _C13),
        "h_extra": (216, _C14),
        "h_parse_call": (218, _C15),
        "h_parse": (220, _C16),
        "h_range": (225, _C17),
        "h_deps": (242, _C18),
        "c_missing": (90, _C19),
        "c_extra": (98, _C20),
        "c_call": (106, _C21),
        "c_unsup": (53, _C22),
    },
    "0.90-2": {
        "main": (94, _C0),
        "train": (90, _C1),
        "chan": (56, _C2),
        "call": (68, _C3),
        "hp": (88, _C4),
        "ch": (93, _C5),
        "dm": (105, _C6),
        "no_train": (138, _C7),
        "no_val": (133, _C8),
        "job": (136, _C9),
        "alg": (203, _C10, "train_job"),
        "usr": (200, _C11, "train_job"),
        "h_missing": (225, _C12),
        "h_key": (233, _C13),
        "h_extra": (235, _C14),
        "h_parse_call": (237, _C15),
        "h_parse": (239, _C16),
        "h_range": (244, _C17),
        "h_deps": (261, _C18),
        "c_missing": (90, _C19),
        "c_extra": (98, _C20),
        "c_call": (106, _C21),
        "c_unsup": (53, _C22),
    },
    "1.0-1": {
        "main": (94, _C0),
        "train": (90, _C1),
        "chan": (56, _C2),
        "call": (68, _C3),
        "hp": (110, _C4),
        "ch": (115, _C5),
        "dm": (127, _C6),
        "no_train": (160, _C7),
        "no_val": (155, _C8),
        "job": (158, _C9),
        "alg": (233, _C10, "train_job"),
        "usr": (230, _C11, "train_job"),
        "h_missing": (270, _C12),
        "h_key": (278, _C13),
        "h_extra": (280, _C14),
        "h_parse_call": (282, _C15),
        "h_parse": (284, _C16),
        "h_range": (289, _C17),
        "h_deps": (306, _C18),
        "c_missing": (90, _C19),
        "c_extra": (98, _C20),
        "c_call": (106, _C21),
        "c_unsup": (53, _C22),
    },
    "1.2-1": {
        "main": (94, _C0),
        "train": (90, _C1),
        "chan": (56, _C2),
        "call": (68, _C3),
        "hp": (118, _C4),
        "ch": (123, _C5),
        "dm": (137, _C23),
        "no_train": (171, _C7),
        "no_val": (166, _C8),
        "job": (169, _C9),
        "alg": (266, _C10, "train_job"),
        "usr": (263, _C11, "train_job"),
        "h_missing": (270, _C12),
        "h_key": (278, _C13),
        "h_extra": (280, _C14),
        "h_parse_call": (282, _C15),
        "h_parse": (284, _C16),
        "h_range": (289, _C17),
        "h_deps": (306, _C18),
        "c_missing": (90, _C19),
        "c_extra": (98, _C20),
        "c_call": (106, _C21),
        "c_unsup": (53, _C22),
    },
    "1.2-2": {
        "main": (94, _C0),
        "train": (90, _C1),
        "chan": (56, _C2),
        "call": (68, _C3),
        "hp": (122, _C4),
        "ch": (127, _C5),
        "dm": (141, _C23),
        "no_train": (175, _C7),
        "no_val": (170, _C8),
        "job": (173, _C9),
        "alg": (320, _C10, "train_job"),
        "usr": (317, _C11, "train_job"),
        "h_missing": (270, _C12),
        "h_key": (278, _C13),
        "h_extra": (280, _C14),
        "h_parse_call": (282, _C15),
        "h_parse": (284, _C16),
        "h_range": (289, _C17),
        "h_deps": (306, _C18),
        "c_missing": (90, _C19),
        "c_extra": (98, _C20),
        "c_call": (106, _C21),
        "c_unsup": (53, _C22),
    },
    "1.3-1": {
        "main": (93, _C0),
        "train": (89, _C1),
        "chan": (56, _C2),
        "call": (67, _C3),
        "hp": (122, _C4),
        "ch": (127, _C5),
        "dm": (141, _C23),
        "no_train": (180, _C7),
        "no_val": (175, _C8),
        "job": (178, _C9),
        "alg": (304, _C10, "train_job"),
        "usr": (301, _C11, "train_job"),
        "h_missing": (270, _C12),
        "h_key": (278, _C13),
        "h_extra": (280, _C14),
        "h_parse_call": (282, _C15),
        "h_parse": (284, _C16),
        "h_range": (289, _C17),
        "h_deps": (306, _C18),
        "c_missing": (90, _C19),
        "c_extra": (98, _C20),
        "c_call": (106, _C21),
        "c_unsup": (53, _C22),
    },
    "1.5-1": {
        "main": (102, _C0),
        "train": (98, _C1),
        "chan": (57, _C2),
        "call": (64, _C24),
        "hp": (124, _C4),
        "ch": (129, _C5),
        "dm": (198, _C25),
        "no_train": (234, _C26),
        "no_val": (229, _C27),
        "job": (232, _C9),
        "alg": (400, _C28, "train_job"),
        "usr": (397, _C11, "train_job"),
        "h_missing": (268, _C12),
        "h_key": (276, _C13),
        "h_extra": (278, _C14),
        "h_parse_call": (280, _C15),
        "h_parse": (282, _C16),
        "h_range": (287, _C17),
        "h_deps": (307, _C18),
        "c_missing": (91, _C19),
        "c_extra": (99, _C20),
        "c_call": (107, _C21),
        "c_unsup": (54, _C22),
    },
    "1.7-1": {
        "main": (102, _C0),
        "train": (98, _C1),
        "chan": (57, _C2),
        "call": (64, _C24),
        "hp": (124, _C4),
        "ch": (129, _C5),
        "dm": (198, _C25),
        "no_train": (252, _C26),
        "no_val": (247, _C27),
        "job": (250, _C9),
        "alg": (415, _C28, "train_job"),
        "usr": (412, _C11, "train_job"),
        "h_missing": (268, _C12),
        "h_key": (276, _C13),
        "h_extra": (278, _C14),
        "h_parse_call": (280, _C15),
        "h_parse": (282, _C16),
        "h_range": (287, _C17),
        "h_deps": (307, _C18),
        "c_missing": (91, _C19),
        "c_extra": (99, _C20),
        "c_call": (107, _C21),
        "c_unsup": (54, _C22),
    },
    "3.0-5": {
        "main": (102, _C0),
        "train": (98, _C1),
        "chan": (57, _C2),
        "call": (72, _C29),
        "hp": (144, _C4),
        "ch": (149, _C5),
        "dm": (223, _C30),
        "no_train": (280, _C26),
        "job": (278, _C9),
        "alg": (467, _C28, "train_job"),
        "usr": (464, _C11, "train_job"),
        "h_missing": (268, _C12),
        "h_key": (276, _C13),
        "h_extra": (278, _C14),
        "h_parse_call": (280, _C15),
        "h_parse": (282, _C16),
        "h_range": (287, _C17),
        "h_deps": (307, _C18),
        "c_missing": (91, _C19),
        "c_extra": (99, _C20),
        "c_call": (107, _C21),
        "c_unsup": (54, _C22),
    },
}
