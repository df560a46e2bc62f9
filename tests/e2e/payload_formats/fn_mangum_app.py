"""A FastAPI app behind Mangum, written as for AWS; the same handler serves payload 1.0 and 2.0."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Query, Request, Response
from mangum import Mangum

app = FastAPI()
ITEMS = {"1": "hat", "2": "scarf"}


@app.get("/items/{item_id}")
def get_item(item_id: str, request: Request, tag: list[str] = Query(default=[])) -> dict:
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    # Mangum joins a repeated header's values with ", " (1.0) or API Gateway does with "," (2.0).
    multi = [part.strip() for value in request.headers.getlist("x-multi") for part in value.split(",")]
    return {
        "id": item_id,
        "name": ITEMS[item_id],
        "tags": tag,
        "size": request.query_params.get("size"),
        "multi": multi,
        "method": request.method,
    }


@app.post("/items", status_code=201)
async def create_item(request: Request, response: Response) -> dict:
    body = await request.json()
    response.headers["Location"] = "/items/3"
    response.set_cookie("session", "abc")
    response.set_cookie("theme", "dark")
    return {"created": body["name"]}


handler = Mangum(app, lifespan="off")
