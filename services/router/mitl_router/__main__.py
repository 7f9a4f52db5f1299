from mitl_runtime.serve import serve

from mitl_router.app import create_app
from mitl_router.settings import Settings


def main() -> None:
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
