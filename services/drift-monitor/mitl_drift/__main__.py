from mitl_runtime.serve import serve

from mitl_drift.app import create_app
from mitl_drift.settings import Settings


def main() -> None:
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
