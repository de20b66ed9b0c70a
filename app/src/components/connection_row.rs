use crate::components::VerdictPill;
use console_domain::summary::SummaryItem;
use leptos::prelude::*;

/// One connection in the list: its name (owner label or connector name), the connector, and
/// the verdict.
#[component]
pub fn ConnectionRow(item: SummaryItem) -> impl IntoView {
    let href = format!("/connections/{}", encode_path_segment(&item.connection_id));
    let name = item.name().to_owned();
    view! {
        <li class="connection-row" data-connection-id=item.connection_id.clone()>
            <div class="connection-identity">
                <a class="connection-name" href=href data-testid="connection-name">
                    {name}
                </a>
                <span class="connector" data-testid="connector">
                    {item.connector_display_name.clone()}
                </span>
            </div>
            <VerdictPill verdict=item.rendered_verdict />
        </li>
    }
}

/// Percent-encodes everything but unreserved characters, so any id makes a safe link.
pub(crate) fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_path_segment;

    #[test]
    fn ids_become_single_safe_path_segments() {
        assert_eq!(encode_path_segment("conn_01-a.b~c"), "conn_01-a.b~c");
        assert_eq!(encode_path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_path_segment("é"), "%C3%A9");
    }
}
