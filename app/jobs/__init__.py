"""The studio's jobs: ``fdif generate`` / ``train`` / ``finetune`` run as detached processes.

``commands`` builds their command lines (pure functions), ``store`` keeps one folder per job
(``job.json``, ``events.jsonl``, ``stderr.log``), ``process`` starts and signals the processes,
``progress`` reads their JSON events, ``manager`` runs the queue, ``forms``, ``curves`` and
``panel`` are the widgets.
"""
