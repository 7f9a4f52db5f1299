from mitl_runtime.serve import serve

from mitl_inference.app import create_app
from mitl_inference.settings import Settings


def main() -> None:
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
