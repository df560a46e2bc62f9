"""DynamoDB's JSON protocol in the gateway: parse, route to partition servers, merge answers."""
