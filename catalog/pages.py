page_routes: list = []
