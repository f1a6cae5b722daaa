# The project's image: exactly what scripts/setup.sh installs (torch 2.13.0 CPU first, then requirements.lock's
# versions, then the frontend build), on the Debian and Python the project is tested with.
# Build: docker build -t latent-scope-dagster .   (LS_SKIP_APT=1 leaves out Debian's chromium, used only by tests)
FROM python:3.11-slim-bookworm

ARG LS_SKIP_APT=0
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . /app
RUN LS_SKIP_APT=${LS_SKIP_APT} bash scripts/setup.sh && rm -rf /root/.cache/pip
ENV PATH=/app/.venv/bin:$PATH

# The data directory and the instance come from the environment (LATENT_SCOPE_DATA=s3://..., DAGSTER_HOME with a
# dagster.yaml naming PostgreSQL): see docs/deploy.md. Default: the viewer. The same image serves every role:
#   Dagster code server:  dagster api grpc -m ls_pipeline.definitions -h 0.0.0.0 -p 3030
#   Celery step worker:   celery -A ls_pipeline.celery_worker worker -Q ls_gpu --concurrency 1 --prefetch-multiplier 1
#   Dask embedding worker: dask worker tcp://SCHEDULER:8786 --nthreads 1
# torch is whatever `pip install torch==2.13.0` finds where the image is built (on PyPI, Linux x86_64: the CUDA
# build, which also runs on CPU); not built or run on a GPU here.
EXPOSE 5001 3000
CMD ["ls-serve", "--host", "0.0.0.0"]
