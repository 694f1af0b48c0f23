//! The deployment files: docker-compose runs PostgreSQL and the API together,
//! and the Dockerfile builds and runs the `sinergi` binary.

use std::path::PathBuf;

use serde_yaml::Value;

fn file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An environment entry, whether written as a map or as a `KEY=value` list.
fn env_var(service: &Value, key: &str) -> Option<String> {
    match &service["environment"] {
        Value::Mapping(m) => m.get(key).and_then(Value::as_str).map(str::to_string),
        Value::Sequence(items) => items.iter().filter_map(Value::as_str).find_map(|s| {
            s.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        }),
        _ => None,
    }
}

#[test]
fn compose_runs_postgres_and_the_api() {
    let compose: Value = serde_yaml::from_str(&file("docker-compose.yml")).expect("valid YAML");
    let services = &compose["services"];
    let postgres = &services["postgres"];
    let image = postgres["image"].as_str().expect("postgres image");
    assert!(image.starts_with("postgres:"), "{image}");
    assert!(
        postgres["healthcheck"]["test"].is_sequence()
            || postgres["healthcheck"]["test"].is_string()
    );

    let api = &services["api"];
    assert!(
        !api["build"].is_null(),
        "the api is built from the Dockerfile"
    );
    let url = env_var(api, "SINERGI_DATABASE_URL").expect("SINERGI_DATABASE_URL");
    assert!(
        url.starts_with("postgres://") && url.contains("@postgres:5432/"),
        "{url}"
    );
    assert_eq!(
        env_var(api, "SINERGI_BIND").as_deref(),
        Some("0.0.0.0:8080")
    );
    assert!(!api["healthcheck"]["test"].is_null(), "api healthcheck");
    let depends = &api["depends_on"];
    let on_postgres = match depends {
        Value::Sequence(s) => s.iter().any(|v| v.as_str() == Some("postgres")),
        Value::Mapping(m) => m.contains_key("postgres"),
        _ => false,
    };
    assert!(on_postgres, "api must depend on postgres: {depends:?}");
    let ports = format!("{:?}", api["ports"]);
    assert!(ports.contains("8080"), "{ports}");
}

#[test]
fn dockerfile_builds_and_runs_sinergi() {
    let dockerfile = file("Dockerfile");
    assert!(
        dockerfile.contains("cargo build --release"),
        "release build"
    );
    assert!(
        dockerfile.contains("target/release/sinergi"),
        "copies the binary"
    );
    // ENTRYPOINT + CMD together run `sinergi serve`.
    assert!(dockerfile.contains(r#"ENTRYPOINT ["sinergi"]"#));
    assert!(dockerfile.contains(r#"CMD ["serve"]"#));
    assert!(dockerfile.contains("USER "), "runs as a non-root user");
    let ignore = file(".dockerignore");
    for entry in ["target", "data"] {
        assert!(
            ignore.lines().any(|l| l.trim_matches('/') == entry),
            ".dockerignore: {entry}"
        );
    }
}
