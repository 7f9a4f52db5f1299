from mitl_runtime.serve import serve

from mitl_trainer.app import create_app
from mitl_trainer.settings import Settings


def main() -> None:
    serve(create_app, Settings())


if __name__ == "__main__":
    main()
