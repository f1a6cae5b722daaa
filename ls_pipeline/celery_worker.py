"""The Celery app a worker runs for Dagster's celery executor, with the broker and backend of LS_CELERY_BROKER and
LS_CELERY_BACKEND (the executor's own settings), instead of dagster_celery.app's config-file module:

    celery -A ls_pipeline.celery_worker worker -Q dagster,ls_gpu,ls_memory --concurrency 2

Queues are where steps are placed (ls_pipeline/workers/placement.py). The worker needs the run's environment too:
DAGSTER_HOME with the PostgreSQL dagster.yaml and LS_POSTGRES_URL, LATENT_SCOPE_DATA=s3://..., the AWS variables.
"""

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

from ls_pipeline.workers.celery_executor import celery_app_args

app = make_app(celery_app_args())
# STARTED, with this node's hostname, in the backend: how ls-run tells a step whose whole node died
# (ls_pipeline/workers/celery_watch.py).
app.conf.task_track_started = True
execute_plan = create_task(app)
execute_job = create_execute_job_task(app)
resume_job = create_resume_job_task(app)
