"""Endpoints: the list (name, status, times) and an endpoint's page (its DescribeEndpoint document: status,
FailureReason, config, production variants with their models and instance counts)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sagelocal.server.console.web import Context, Section, route
from sagelocal.service.hosting.documents import describe_endpoint

SECTION = Section("Endpoints", "/endpoints")
#: EndpointStatus values that change on their own (the page keeps polling while the endpoint is in one).
CHANGING = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})


def endpoint_list(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    records = sorted(ctx.state.hosting.endpoints(), key=lambda r: r.creation_time, reverse=True)
    return ctx.page("endpoints.html", endpoints=records)


def _values(ctx: Context, name: str) -> dict[str, Any] | None:
    record = ctx.state.hosting.get(name)
    if record is None:
        return None
    live = ctx.state.hosting.deployment(record.name, record.generation)
    doc = describe_endpoint(record, live, ctx.state.hosting.instances(record.name, record.generation))
    variants = []
    for variant in live.config.get("ProductionVariants", []) if live else []:
        model = live.models.get(variant.get("ModelName", ""), {}) if live else {}
        container = model.get("PrimaryContainer") or {}
        variants.append(
            {
                "name": variant.get("VariantName", ""),
                "model": variant.get("ModelName", ""),
                "instance_type": variant.get("InstanceType", ""),
                "desired": int(variant.get("InitialInstanceCount", 1)),
                "image": container.get("Image", ""),
                "model_data": container.get("ModelDataUrl", ""),
            }
        )
    return {"endpoint": doc, "variants": variants, "changing": record.status in CHANGING}


def endpoint_page(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    values = _values(ctx, params["name"])
    if values is None:
        return ctx.not_found(f"Endpoint {params['name']}")
    return ctx.page("endpoint.html", **values)


def endpoint_live(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    values = _values(ctx, params["name"])
    if values is None:
        return ctx.not_found(f"Endpoint {params['name']}")
    return ctx.fragment("endpoint_live.html", final=not values["changing"], **values)


ROUTES = [
    route(r"/endpoints", endpoint_list),
    route(r"/endpoints/(?P<name>[^/]+)", endpoint_page),
    route(r"/endpoints/(?P<name>[^/]+)/live", endpoint_live),
]
