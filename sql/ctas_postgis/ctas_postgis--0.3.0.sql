-- ctas_postgis 0.3.0: PostGIS geometry and geography forms of the ctas H3 functions,
-- in SQL over ctas's own functions, so that ctas itself never needs PostGIS.
-- The PL/pgSQL functions pin search_path to the one CREATE EXTENSION runs this script
-- with (this extension's schema, then PostGIS's and ctas's), so no function of a user's
-- stands in for what they call; the SQL functions have standard bodies, bound here.
\echo Use "CREATE EXTENSION ctas_postgis" to load this file. \quit

-- One check of the coordinate system for every function that takes a geometry.
CREATE FUNCTION ctas_postgis_require_wgs84(geom geometry) RETURNS void
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path FROM CURRENT AS $$
BEGIN
    IF ST_SRID(geom) <> 4326 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('geom must have SRID 4326 (WGS 84 longitude/latitude), got SRID %s',
                             ST_SRID(geom)),
            HINT = 'ST_Transform(geom, 4326) converts it; ST_SetSRID(geom, 4326) labels it.';
    END IF;
END
$$;
COMMENT ON FUNCTION ctas_postgis_require_wgs84(geometry) IS
'ERROR 22023 with a hint unless geom has SRID 4326; used by the ctas_postgis functions.';

CREATE FUNCTION ctas_h3_cell(geom geometry, res int) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM ctas_postgis_require_wgs84(geom);
    IF GeometryType(geom) <> 'POINT' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('geom must be a POINT, got %s', GeometryType(geom)),
            HINT = 'ST_PointOnSurface(geom) or ST_Centroid(geom) gives a point of a shape.';
    END IF;
    RETURN ctas_h3_cell(ST_Y(geom), ST_X(geom), res);
END
$$;
COMMENT ON FUNCTION ctas_h3_cell(geometry, int) IS
'H3 cell of a POINT with SRID 4326 (h3-pg''s h3_latlng_to_cell for geometry); ERROR 22023 for another SRID or a non-point.';

CREATE FUNCTION ctas_h3_cell(geog geography, res int) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path FROM CURRENT AS $$
BEGIN
    -- Its own checks, so that an error names geog, the argument the caller gave.
    IF ST_SRID(geog) <> 4326 THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('geog must have SRID 4326 (WGS 84 longitude/latitude), got SRID %s',
                             ST_SRID(geog));
    END IF;
    IF GeometryType(geog) <> 'POINT' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('geog must be a POINT, got %s', GeometryType(geog)),
            HINT = 'ST_PointOnSurface(geog::geometry)::geography gives a point of a shape.';
    END IF;
    RETURN ctas_h3_cell(ST_Y(geog::geometry), ST_X(geog::geometry), res);
END
$$;
COMMENT ON FUNCTION ctas_h3_cell(geography, int) IS 'H3 cell of a geography POINT.';

CREATE FUNCTION ctas_h3_cell_to_geometry(cell bigint) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT ST_SetSRID(ST_MakePoint(p[0], p[1]), 4326) FROM ctas_h3_cell_to_latlng(cell) AS p);
COMMENT ON FUNCTION ctas_h3_cell_to_geometry(bigint) IS 'The centre of a cell as a POINT, SRID 4326.';

CREATE FUNCTION ctas_h3_cell_to_boundary_geometry(cell bigint) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN ST_GeomFromWKB(ctas_h3_cell_to_boundary_wkb(cell), 4326);
COMMENT ON FUNCTION ctas_h3_cell_to_boundary_geometry(bigint) IS 'The boundary of a cell as a POLYGON, SRID 4326.';

CREATE FUNCTION ctas_h3_cells_to_multipolygon(cells bigint[]) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (SELECT ST_Multi(ST_Union(ctas_h3_cell_to_boundary_geometry(c))) FROM unnest(cells) AS c);
COMMENT ON FUNCTION ctas_h3_cells_to_multipolygon(bigint[]) IS
'The outline of a set of cells as one MULTIPOLYGON, SRID 4326 (cells that touch merge).';

CREATE FUNCTION ctas_h3_polygon_to_cells(geom geometry, res int) RETURNS SETOF bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path FROM CURRENT AS $$
BEGIN
    PERFORM ctas_postgis_require_wgs84(geom);
    IF GeometryType(geom) NOT IN ('POLYGON', 'MULTIPOLYGON') THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
            MESSAGE = format('geom must be a POLYGON or MULTIPOLYGON, got %s', GeometryType(geom)),
            HINT = 'ST_Buffer(geom, ...) or ST_ConvexHull(geom) makes an area of other shapes.';
    END IF;
    RETURN QUERY SELECT ctas_h3_polygon_to_cells(ST_AsGeoJSON(geom)::jsonb, res);
END
$$;
COMMENT ON FUNCTION ctas_h3_polygon_to_cells(geometry, int) IS
'The cells at res whose centres lie inside a POLYGON or MULTIPOLYGON with SRID 4326 (h3_polygon_to_cells for geometry).';
