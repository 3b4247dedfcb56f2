FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY requirements.txt package.json package-lock.json ./
RUN pip install --no-cache-dir -r requirements.txt && npm ci --no-audit --no-fund
COPY . .
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input
# var/media is where the shared uploads volume is mounted: created here so it belongs to the app's user.
RUN mkdir -p /app/var/media && useradd --create-home diplomacy && chown -R diplomacy /app/var
USER diplomacy
EXPOSE 8000
CMD ["gunicorn", "diplomacy.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-class", "gthread", "--threads", "4"]
