"""The sample app: a Durable Functions app in the Python v2 programming model."""

import logging

import azure.durable_functions as df
import azure.functions as func

from samples import http_api

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(http_api.bp)  # POST /api/orchestrators/{functionName}


@app.route(route="hello/{name?}", methods=["GET", "POST"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    """Greets ``name`` from the route, the query string or a JSON body."""
    name = req.route_params.get("name") or req.params.get("name")
    if not name and req.get_body():
        try:
            name = req.get_json().get("name")
        except ValueError:
            name = None
    logging.info("hello called for %s", name or "the world")
    return func.HttpResponse(f"Hello, {name or 'world'}!")


@app.route(route="health", methods=["GET"])
def health(req: func.HttpRequest) -> func.HttpResponse:
    """A cheap liveness check."""
    return func.HttpResponse('{"status": "ok"}', mimetype="application/json")
