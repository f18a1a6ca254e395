# The Python side: controller, console and the CLI (`hotline ...`), one image for all.
FROM python:3.11-slim-bookworm

# sox and Festival's Russian voice render the prompts; sipp (sip-tester) is for checks and
# benchmarks against the PBX; tzdata for the region's local time.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        sox \
        libsox-fmt-all \
        festival \
        festvox-ru \
        sip-tester \
        tzdata \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY . /app
# Editable: the dialplan templates (dialplans/*.j2) are read from the source tree
# (hotline.settings.REPO_ROOT), which a plain install into site-packages would not carry.
RUN pip install --no-cache-dir --disable-pip-version-check -e .

ENV HOTLINE_DATA_DIR=/var/lib/hotline
ENTRYPOINT ["hotline"]
CMD ["--help"]
